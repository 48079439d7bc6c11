// Writes HF-style sharded safetensors (model-0000i-of-0000n.safetensors + index) from tensors
// produced one at a time, so a multi-GB checkpoint never sits in memory whole. Output bytes are
// a pure function of the inputs (make-model's "same seed -> same bytes").
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPE_BYTES, type TensorDtype } from './dtype.ts';
import { INDEX_FILE } from './safetensors.ts';

export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  shape: number[];
}

export function tensorBytes(spec: TensorSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[spec.dtype];
}

/** Greedy split in the given order; a tensor larger than the limit gets a shard of its own. */
export function planShards(specs: TensorSpec[], maxShardBytes: number): TensorSpec[][] {
  const shards: TensorSpec[][] = [];
  let current: TensorSpec[] = [];
  let size = 0;
  for (const spec of specs) {
    const bytes = tensorBytes(spec);
    if (current.length > 0 && size + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(spec);
    size += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

function headerFor(specs: TensorSpec[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const spec of specs) {
    const bytes = tensorBytes(spec);
    header[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = JSON.stringify(header);
  // Pad with spaces so tensor data starts 8-byte aligned, as the reference implementation does.
  const padded = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const out = Buffer.alloc(8 + Buffer.byteLength(padded));
  out.writeBigUInt64LE(BigInt(Buffer.byteLength(padded)), 0);
  out.write(padded, 8, 'utf8');
  return out;
}

/**
 * Writes the shards and model.safetensors.index.json into `dir`. `produce` is called once per
 * tensor, in plan order, and must return exactly tensorBytes(spec) bytes.
 */
export function writeShardedSafetensors(
  dir: string,
  shards: TensorSpec[][],
  produce: (spec: TensorSpec) => Buffer,
  onTensor?: (done: number, total: number) => void,
): void {
  const total = shards.reduce((n, s) => n + s.length, 0);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  let done = 0;
  shards.forEach((specs, i) => {
    const fileName = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const fd = openSync(join(dir, fileName), 'w');
    try {
      writeSync(fd, headerFor(specs));
      for (const spec of specs) {
        const data = produce(spec);
        if (data.length !== tensorBytes(spec)) throw new Error(`tensor ${spec.name}: produced ${data.length} bytes, expected ${tensorBytes(spec)}`);
        writeSync(fd, data);
        weightMap[spec.name] = fileName;
        totalSize += data.length;
        onTensor?.(++done, total);
      }
    } finally {
      closeSync(fd);
    }
  });
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  writeFileSync(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
}

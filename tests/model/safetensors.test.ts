import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsCheckpoint, INDEX_FILE } from '../../worker/model/safetensors.ts';
import { planShards, writeShardedSafetensors, type TensorSpec } from '../../worker/model/safetensors-writer.ts';
import { decodeFloats, encodeFloats } from '../../worker/model/dtype.ts';

const fixtureDir = join(import.meta.dirname, '../fixtures/safetensors');

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'm2-st-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function values(name: string, bytes: Buffer, dtype: string): number[] {
  if (dtype === 'I32') return Array.from(new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  if (dtype === 'U8') return Array.from(bytes);
  return Array.from(decodeFloats(bytes, dtype as 'F32'));
}

test('reads every dtype of a file written by the reference Python library', () => {
  withTempDir((dir) => {
    copyFileSync(join(fixtureDir, 'reference.safetensors'), join(dir, 'model.safetensors'));
    const expected = JSON.parse(readFileSync(join(fixtureDir, 'reference.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
    const ckpt = SafetensorsCheckpoint.open(dir);
    assert.deepEqual(ckpt.names().sort(), Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const info = ckpt.info(name);
      assert.deepEqual(info.shape, want.shape, name);
      assert.deepEqual(values(name, ckpt.read(name), info.dtype), want.values, name);
    }
    // A column slice of the 2x5 bf16 tensor: columns 1..4 of each row.
    const cols = decodeFloats(ckpt.readColumns('bf16', 1, 4), 'BF16');
    const full = expected.bf16.values;
    assert.deepEqual(Array.from(cols), [full[1], full[2], full[3], full[6], full[7], full[8]]);
    assert.deepEqual(Array.from(decodeFloats(ckpt.readRows('f32', 1, 3), 'F32')), expected.f32.values.slice(4));
    ckpt.close();
  });
});

function writeRandomCheckpoint(dir: string, maxShardBytes: number): Map<string, Float32Array> {
  const specs: TensorSpec[] = [
    { name: 'a', dtype: 'F32', shape: [37, 19] },
    { name: 'b', dtype: 'BF16', shape: [16, 33] },
    { name: 'c', dtype: 'F16', shape: [9, 7, 5] },
    { name: 'd', dtype: 'F32', shape: [11] },
  ];
  const data = new Map<string, Float32Array>();
  let x = 12345;
  writeShardedSafetensors(dir, planShards(specs, maxShardBytes), (spec) => {
    const n = spec.shape.reduce((p, q) => p * q, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      v[i] = (x / 2 ** 32) * 4 - 2;
    }
    const bytes = encodeFloats(v, spec.dtype);
    data.set(spec.name, decodeFloats(bytes, spec.dtype));
    return bytes;
  });
  return data;
}

test('sharded round trip: whole tensors, row slices and column slices', () => {
  withTempDir((dir) => {
    const data = writeRandomCheckpoint(dir, 1024);
    const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8')) as { weight_map: Record<string, string> };
    assert.ok(new Set(Object.values(index.weight_map)).size >= 3, 'several shards');
    const ckpt = SafetensorsCheckpoint.open(dir);
    for (const [name, want] of data) {
      const info = ckpt.info(name);
      assert.deepEqual(decodeFloats(ckpt.read(name), info.dtype), want);
      const rows = info.shape[0];
      const per = want.length / rows;
      assert.deepEqual(decodeFloats(ckpt.readRows(name, 2, rows - 1), info.dtype), want.slice(2 * per, (rows - 1) * per));
      const cols = info.shape[info.shape.length - 1];
      const sliced = decodeFloats(ckpt.readColumns(name, 1, cols - 1), info.dtype);
      const expected: number[] = [];
      for (let r = 0; r < want.length / cols; r++) for (let c = 1; c < cols - 1; c++) expected.push(want[r * cols + c]);
      assert.deepEqual(Array.from(sliced), expected, name);
    }
    assert.throws(() => ckpt.readRows('a', 30, 40), /rows 30\.\.40 out of range for tensor a/);
    assert.throws(() => ckpt.readColumns('a', -1, 2), /out of range for tensor a/);
    assert.throws(() => ckpt.info('nope'), /tensor nope not found/);
    ckpt.close();
  });
});

function corrupt(mutate: (file: string, dir: string) => void, pattern: RegExp): void {
  withTempDir((dir) => {
    writeRandomCheckpoint(dir, 1 << 20);
    const file = join(dir, 'model-00001-of-00001.safetensors');
    mutate(file, dir);
    assert.throws(() => SafetensorsCheckpoint.open(dir), pattern);
  });
}

function rewriteHeader(file: string, edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void): void {
  const buf = readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  edit(header);
  const json = Buffer.from(JSON.stringify(header).padEnd(len, ' '));
  assert.equal(json.length, len, 'edited header keeps its length');
  json.copy(buf, 8);
  writeFileSync(file, buf);
}

test('bad files give errors naming the file and the tensor', () => {
  corrupt((f) => {
    const b = readFileSync(f);
    b.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(f, b);
  }, /model-00001-of-00001\.safetensors: corrupt header length/);
  corrupt((f) => {
    const b = readFileSync(f);
    b.write('{{{{', 8);
    writeFileSync(f, b);
  }, /model-00001-of-00001\.safetensors: corrupt header \(invalid JSON/);
  corrupt((f) => rewriteHeader(f, (h) => { h.b.dtype = 'F64'; }), /tensor b has unsupported dtype "F64"/);
  corrupt((f) => rewriteHeader(f, (h) => { h.a.shape = [37, 18]; }), /tensor a holds 2812 bytes but F32\[37,18\] needs 2664/);
  corrupt((f) => truncateSync(f, 3000), /truncated: tensor \w+ ends at byte/);
  corrupt((f) => truncateSync(f, 5), /file too short/);
  corrupt((f) => unlinkSync(f), /model-00001-of-00001\.safetensors: shard file missing \(holds tensor a\)/);
  corrupt((_f, dir) => writeFileSync(join(dir, INDEX_FILE), '{"weight_map": {"zz": "model-00001-of-00001.safetensors"}}'), /tensor zz listed in model\.safetensors\.index\.json is not in this shard/);
  withTempDir((dir) => assert.throws(() => SafetensorsCheckpoint.open(dir), /no model\.safetensors\.index\.json or model\.safetensors found/));
});

// Safetensors checkpoints, read with positioned reads so a tensor-parallel rank can pull just its
// row or column slice of a tensor without loading (or mapping) the whole file. Handles single
// files and HF-sharded checkpoints (model.safetensors.index.json). Every failure names the file
// and, where there is one, the tensor.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPE_BYTES, isTensorDtype, type TensorDtype } from './dtype.ts';

export interface TensorInfo {
  dtype: TensorDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset of the tensor's data in its file. */
  offset: number;
  byteLength: number;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface OpenFile {
  fd: number;
  size: number;
}

function readExactly(fd: number, target: Buffer, position: number, file: string, what: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) throw new SafetensorsError(`${file}: truncated while reading ${what}`);
    done += n;
  }
}

/** Parses one file's header; returns the tensors it declares (metadata entry skipped). */
function parseHeader(file: string, fd: number, size: number): Map<string, TensorInfo> {
  if (size < 8) throw new SafetensorsError(`${file}: file too short for a safetensors header (${size} bytes)`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0, file, 'header length');
  const headerLen = lenBuf.readBigUInt64LE(0);
  if (headerLen === 0n || headerLen > BigInt(MAX_HEADER_BYTES) || headerLen > BigInt(size - 8)) {
    throw new SafetensorsError(`${file}: corrupt header length ${headerLen} (file is ${size} bytes)`);
  }
  const headerBuf = Buffer.alloc(Number(headerLen));
  readExactly(fd, headerBuf, 8, file, 'header');
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (err) {
    throw new SafetensorsError(`${file}: corrupt header (invalid JSON: ${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(`${file}: corrupt header (not a JSON object)`);
  }
  const dataStart = 8 + Number(headerLen);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !isTensorDtype(e.dtype)) {
      throw new SafetensorsError(`${file}: tensor ${name} has unsupported dtype ${JSON.stringify(e.dtype)} (supported: F32, F16, BF16, I32, U8)`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${file}: tensor ${name} has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
      throw new SafetensorsError(`${file}: tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
    const byteLength = offsets[1] - offsets[0];
    if (byteLength !== expected) {
      throw new SafetensorsError(`${file}: tensor ${name} holds ${byteLength} bytes but ${e.dtype}${JSON.stringify(shape)} needs ${expected}`);
    }
    const offset = dataStart + offsets[0];
    if (offset + byteLength > size) {
      throw new SafetensorsError(`${file}: truncated: tensor ${name} ends at byte ${offset + byteLength} but the file has ${size}`);
    }
    tensors.set(name, { dtype: e.dtype, shape, file, offset, byteLength });
  }
  return tensors;
}

export class SafetensorsCheckpoint {
  private readonly files = new Map<string, OpenFile>();
  private readonly tensors = new Map<string, TensorInfo>();

  private constructor(readonly dir: string) {}

  /** Opens `dir/model.safetensors.index.json` (sharded) or `dir/model.safetensors`. */
  static open(dir: string): SafetensorsCheckpoint {
    const ckpt = new SafetensorsCheckpoint(dir);
    try {
      const indexPath = join(dir, INDEX_FILE);
      if (existsSync(indexPath)) ckpt.openSharded(indexPath);
      else if (existsSync(join(dir, SINGLE_FILE))) ckpt.openFile(SINGLE_FILE);
      else throw new SafetensorsError(`${dir}: no ${INDEX_FILE} or ${SINGLE_FILE} found`);
    } catch (err) {
      ckpt.close();
      throw err;
    }
    return ckpt;
  }

  private openSharded(indexPath: string): void {
    let index: { weight_map?: unknown };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: unknown };
    } catch (err) {
      throw new SafetensorsError(`${indexPath}: invalid index (${(err as Error).message})`);
    }
    const map = index.weight_map;
    if (typeof map !== 'object' || map === null) throw new SafetensorsError(`${indexPath}: missing weight_map`);
    const weightMap = map as Record<string, unknown>;
    for (const shard of new Set(Object.values(weightMap))) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
        throw new SafetensorsError(`${indexPath}: invalid shard name ${JSON.stringify(shard)}`);
      }
      if (!existsSync(join(this.dir, shard))) {
        const missing = Object.keys(weightMap).find((k) => weightMap[k] === shard);
        throw new SafetensorsError(`${join(this.dir, shard)}: shard file missing (holds tensor ${missing})`);
      }
      this.openFile(shard);
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      const info = this.tensors.get(name);
      if (!info || info.file !== join(this.dir, shard as string)) {
        throw new SafetensorsError(`${join(this.dir, shard as string)}: tensor ${name} listed in ${INDEX_FILE} is not in this shard`);
      }
    }
  }

  private openFile(rel: string): void {
    const path = join(this.dir, rel);
    const fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    this.files.set(path, { fd, size });
    for (const [name, info] of parseHeader(path, fd, size)) {
      if (this.tensors.has(name)) throw new SafetensorsError(`${path}: tensor ${name} is also in ${this.tensors.get(name)?.file}`);
      this.tensors.set(name, info);
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.dir}: tensor ${name} not found in the checkpoint`);
    return info;
  }

  private fd(info: TensorInfo): number {
    const file = this.files.get(info.file);
    if (!file) throw new SafetensorsError(`${info.file}: checkpoint is closed`);
    return file.fd;
  }

  /** The whole tensor's bytes (little-endian, as stored). */
  read(name: string): Buffer {
    const info = this.info(name);
    const out = Buffer.allocUnsafe(info.byteLength);
    readExactly(this.fd(info), out, info.offset, info.file, `tensor ${name}`);
    return out;
  }

  /** Rows [start, end) along dim 0, e.g. a column-parallel rank's output features. */
  readRows(name: string, start: number, end: number): Buffer {
    const info = this.info(name);
    const rows = info.shape[0] ?? 1;
    checkRange(info, name, start, end, rows, 'rows');
    const rowBytes = info.byteLength / Math.max(rows, 1);
    const out = Buffer.allocUnsafe((end - start) * rowBytes);
    readExactly(this.fd(info), out, info.offset + start * rowBytes, info.file, `rows ${start}..${end} of tensor ${name}`);
    return out;
  }

  /** Columns [start, end) of the last dim, e.g. a row-parallel rank's input features. */
  readColumns(name: string, start: number, end: number): Buffer {
    const info = this.info(name);
    if (info.shape.length === 0) throw new SafetensorsError(`${info.file}: tensor ${name} is a scalar; it has no columns`);
    const cols = info.shape[info.shape.length - 1];
    checkRange(info, name, start, end, cols, 'columns');
    const elem = DTYPE_BYTES[info.dtype];
    const rows = cols === 0 ? 0 : info.byteLength / (cols * elem);
    const sliceBytes = (end - start) * elem;
    const out = Buffer.allocUnsafe(rows * sliceBytes);
    // Read many full rows per call and copy their slices: one syscall per row would be slow for
    // wide matrices, and reading the whole tensor would defeat the point of slicing.
    const rowBytes = cols * elem;
    const rowsPerChunk = Math.max(1, Math.floor((8 << 20) / Math.max(rowBytes, 1)));
    const chunk = Buffer.allocUnsafe(Math.min(rows, rowsPerChunk) * rowBytes);
    for (let r = 0; r < rows; r += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - r);
      const view = chunk.subarray(0, n * rowBytes);
      readExactly(this.fd(info), view, info.offset + r * rowBytes, info.file, `columns ${start}..${end} of tensor ${name}`);
      for (let i = 0; i < n; i++) view.copy(out, (r + i) * sliceBytes, i * rowBytes + start * elem, i * rowBytes + end * elem);
    }
    return out;
  }

  close(): void {
    for (const { fd } of this.files.values()) closeSync(fd);
    this.files.clear();
  }
}

function checkRange(info: TensorInfo, name: string, start: number, end: number, size: number, what: string): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > size || start > end) {
    throw new SafetensorsError(`${info.file}: ${what} ${start}..${end} out of range for tensor ${name} (${size} ${what})`);
  }
}

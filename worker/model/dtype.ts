// Element types of checkpoint tensors and the conversions between them. bf16/f16 are kept as raw
// 16-bit words (Node 20 has no Float16Array); conversions round to nearest even like torch.

export type TensorDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'U8';
export type FloatDtypeName = 'float32' | 'bfloat16' | 'float16';

export const DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, U8: 1 };

export const FLOAT_DTYPE_TAG: Readonly<Record<FloatDtypeName, TensorDtype>> = {
  float32: 'F32',
  bfloat16: 'BF16',
  float16: 'F16',
};

/** Narrows a CLI/bench string to a checkpoint float dtype name. */
export function isFloatDtypeName(value: string): value is FloatDtypeName {
  return Object.hasOwn(FLOAT_DTYPE_TAG, value);
}

export function isTensorDtype(value: string): value is TensorDtype {
  return Object.hasOwn(DTYPE_BYTES, value);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return (bits >>> 16) | 0x40; // quiet NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let result = mant >>> shift;
    if (rest > half || (rest === half && (result & 1))) result += 1;
    return sign | result;
  }
  let result = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1))) result += 1;
  return sign | result;
}

export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes f32 values into the bytes of a tensor of the given float dtype. */
export function encodeFloats(values: Float32Array, dtype: TensorDtype): Buffer {
  if (dtype === 'F32') return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 2);
  const words = new Uint16Array(out.buffer, out.byteOffset, values.length);
  const convert = dtype === 'BF16' ? f32ToBf16Bits : dtype === 'F16' ? f32ToF16Bits : null;
  if (!convert) throw new Error(`cannot encode floats as ${dtype}`);
  for (let i = 0; i < values.length; i++) words[i] = convert(values[i]);
  return out;
}

/** Decodes the bytes of an F32/F16/BF16 tensor into f32 values. */
export function decodeFloats(bytes: Buffer, dtype: TensorDtype): Float32Array {
  if (dtype === 'F32') {
    const copy = new Float32Array(bytes.length / 4);
    Buffer.from(copy.buffer).set(bytes);
    return copy;
  }
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  const convert = dtype === 'BF16' ? bf16BitsToF32 : dtype === 'F16' ? f16BitsToF32 : null;
  if (!convert) throw new Error(`cannot decode ${dtype} as floats`);
  for (let i = 0; i < n; i++) out[i] = convert(bytes.readUInt16LE(i * 2));
  return out;
}

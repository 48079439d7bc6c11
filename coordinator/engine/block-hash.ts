// The prefix-cache key of a full KV block: a hash chained over (previous block's hash, this
// block's token ids), so equal hashes mean equal whole prefixes (up to collisions, which the
// block manager guards against by also comparing the block's own tokens). The router computes
// the same hashes from a prompt to find the replica caching most of it, so this function is the
// shared definition. Values fit in 53 bits: they travel as uint64 fields decoded with
// `longs: Number` and must survive that exactly.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const ROOT_SEED_A = 0x9e3779b9;
const ROOT_SEED_B = 0x7f4a7c15;
const TWO_POW_32 = 2 ** 32;

/** One murmur3 round over a 32-bit word. */
function mix(h: number, word: number): number {
  let k = Math.imul(word, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  let x = h ^ k;
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, length: number): number {
  let x = h ^ length;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Hash of a block holding `tokens[start, end)` whose prefix hashes to `parent` (null for the
 * first block). Two independently seeded 32-bit lanes make a 53-bit value.
 */
export function chainBlockHash(parent: number | null, tokens: ArrayLike<number>, start = 0, end = tokens.length): number {
  const parentLo = parent === null ? ROOT_SEED_A : parent >>> 0;
  const parentHi = parent === null ? ROOT_SEED_B : Math.floor(parent / TWO_POW_32);
  let a = mix(parentLo, parentHi);
  let b = mix(parentHi ^ ROOT_SEED_A, parentLo);
  for (let i = start; i < end; i++) {
    const token = tokens[i];
    a = mix(a, token);
    b = mix(b, token ^ ROOT_SEED_B);
  }
  const length = end - start;
  return (finalize(a, length) & 0x1fffff) * TWO_POW_32 + finalize(b, length);
}

/** The chained hashes of every full block of `tokens` (what the router matches against stats). */
export function prefixBlockHashes(tokens: ArrayLike<number>, blockSize: number): number[] {
  const hashes: number[] = [];
  let parent: number | null = null;
  for (let start = 0; start + blockSize <= tokens.length; start += blockSize) {
    parent = chainBlockHash(parent, tokens, start, start + blockSize);
    hashes.push(parent);
  }
  return hashes;
}

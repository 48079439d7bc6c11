// IncrementalDetokenizer: deltas are always whole characters, and their concatenation equals
// decoding all ids at once, including sequences cut in the middle of a character.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IncrementalDetokenizer } from '../../coordinator/text/detokenizer.ts';
import { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';
import { TextError } from '../../coordinator/text/errors.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const tokenizer = QwenTokenizer.fromModelDir(QwenTokenizer.bundledFilesDir());
const fixture = JSON.parse(readFileSync(new URL('../fixtures/tokenizer/cases.json', import.meta.url), 'utf8')) as
  { cases: Array<{ text: string; ids: number[] }> };


/** Whole characters only: no U+FFFD from a split character, no lone UTF-16 surrogate. */
function assertWholeCharacters(delta: string, context: string): void {
  assert.ok(!delta.includes('\uFFFD'), `broken character in delta ${JSON.stringify(delta)} (${context})`);
  assert.ok(!/\p{Cs}/u.test(delta), `lone surrogate in delta (${context})`);
}

function detokenize(ids: number[], skipSpecialTokens = false): { deltas: string[]; text: string } {
  const detok = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens });
  const deltas = ids.map((id) => detok.push(id));
  deltas.push(detok.flush());
  return { deltas, text: deltas.join('') };
}

test('every fixture string streams as whole characters and concatenates to decode(ids)', () => {
  let heldBack = 0;
  for (const { text, ids } of fixture.cases) {
    for (const skipSpecialTokens of [false, true]) {
      const { deltas, text: streamed } = detokenize(ids, skipSpecialTokens);
      assert.equal(streamed, tokenizer.decode(ids, { skipSpecialTokens }), JSON.stringify(text));
      for (const delta of deltas) assertWholeCharacters(delta, JSON.stringify(text));
      heldBack += deltas.slice(0, -1).filter((d) => d === '').length;
    }
  }
  assert.ok(heldBack > 50, `characters split across tokens should be held back (held ${heldBack} times)`);
});

test('emoji and Chinese split over byte tokens come out only when complete', () => {
  const family = '👨‍👩‍👧';
  const ids = tokenizer.encode(`家人${family}`);
  assert.ok(ids.length > 4, 'the ZWJ family needs several byte-level tokens');
  const { deltas, text } = detokenize(ids);
  assert.equal(text, `家人${family}`);
  assert.ok(deltas.includes(''), 'some token completed no character');
  for (const delta of deltas) assertWholeCharacters(delta, family);
});

test('random cut points: flush emits what decode of the prefix gives (U+FFFD for a cut character)', () => {
  const random = seededRandom(7);
  const pieces = ['🩺', '👩🏽‍⚕️', '血压', ' dose', '\n', '<think>', '</think>', '😷', 'ǅ', '𝔘'];
  for (let round = 0; round < 200; round++) {
    let text = '';
    for (let n = 1 + Math.floor(random() * 8); n > 0; n--) text += pieces[Math.floor(random() * pieces.length)];
    const ids = tokenizer.encode(text);
    const cut = ids.slice(0, 1 + Math.floor(random() * ids.length));
    const { deltas, text: streamed } = detokenize(cut);
    assert.equal(streamed, tokenizer.decode(cut), JSON.stringify(text));
    for (const delta of deltas.slice(0, -1)) assertWholeCharacters(delta, JSON.stringify(text));
  }
});

test('a byte that never completes a character is emitted once the next character arrives', () => {
  const loneLeadByte = tokenizer.tokenToId('â'); // byte 0xE2: starts a 3-byte character
  const letter = tokenizer.tokenToId('A');
  assert.ok(loneLeadByte !== undefined && letter !== undefined);
  const detok = new IncrementalDetokenizer(tokenizer);
  assert.equal(detok.push(loneLeadByte), '');
  assert.equal(detok.push(letter), '\uFFFDA');
  assert.equal(detok.flush(), '');
});

test('bad ids and push after flush are errors', () => {
  const detok = new IncrementalDetokenizer(tokenizer);
  assert.throws(() => detok.push(-3), (e: unknown) => e instanceof TextError && e.code === 'invalid_token_id');
  assert.throws(() => detok.push(Number.NaN), TextError);
  detok.flush();
  assert.throws(() => detok.push(9707), /after flush/);
});

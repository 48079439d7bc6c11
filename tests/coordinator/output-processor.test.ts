import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ChoiceOutputProcessor,
  type ChoiceUpdate,
  type Detokenizer,
  type StopConditions,
} from '../../coordinator/engine/output-processor.ts';

const EOS = 0;
const STOP_ID = 9;

/** Token i decodes to PIECES[i]; token 7 is half a character that token 8 completes. */
const PIECES = ['<eos>', 'Hel', 'lo', ' wo', 'rld', '##', '#', '', '\u00e9', '<stop>'];

class PieceDetokenizer implements Detokenizer {
  flushed = false;
  push(id: number): string {
    if (id === 7) return '';
    return PIECES[id];
  }
  flush(): string {
    this.flushed = true;
    return '';
  }
}

function processor(conditions: Partial<StopConditions> = {}): { out: ChoiceOutputProcessor; detok: PieceDetokenizer } {
  const detok = new PieceDetokenizer();
  const out = new ChoiceOutputProcessor(detok, {
    stop: [],
    stopTokenIds: [],
    eosTokenIds: [EOS],
    ignoreEos: false,
    minTokens: 0,
    maxTokens: 100,
    includeLogprobs: false,
    ...conditions,
  });
  return { out, detok };
}

function feed(out: ChoiceOutputProcessor, ids: number[]): ChoiceUpdate[] {
  return ids.map((tokenId) => out.append({ tokenId, logprob: -0.5, topLogprobs: [] }));
}

const text = (updates: ChoiceUpdate[]) => updates.map((u) => u.text).join('');
const last = (updates: ChoiceUpdate[]) => updates[updates.length - 1];

test('a stop string split across tokens ends the text just before it', () => {
  const { out } = processor({ stop: ['lo wor'] });
  const updates = feed(out, [1, 2, 3, 4]);
  // Each trailing piece that could begin 'lo wor' ('l', then 'lo', then 'lo wo') is held back.
  assert.deepEqual(updates.map((u) => u.text), ['He', 'l', '', '']);
  assert.equal(text(updates), 'Hel');
  assert.equal(last(updates).finishReason, 'stop');
  assert.equal(last(updates).stopReason, 'lo wor');
  assert.deepEqual(updates.flatMap((u) => u.tokenIds), [1, 2, 3, 4], 'ids are all reported');
  assert.ok(out.finished);
  assert.throws(() => feed(out, [1]), /after the choice finished/);
});

test('text held back as a possible stop prefix is released once it cannot be one', () => {
  const { out } = processor({ stop: ['###'] });
  const updates = feed(out, [5, 1, 6]);
  assert.deepEqual(updates.map((u) => u.text), ['', '##Hel', '']);
  assert.equal(last(updates).finishReason, '');
  const more = feed(out, [5]);
  assert.equal(more[0].finishReason, 'stop');
  assert.equal(text([...updates, ...more]), '##Hel', "the stop string '###' spans tokens 6 and 5");
});

test('the earliest of several stop strings wins', () => {
  const { out } = processor({ stop: ['rld', 'o w'] });
  const updates = feed(out, [1, 2, 3]);
  assert.equal(text(updates), 'Hell');
  assert.equal(last(updates).stopReason, 'o w');
});

test('a stop token id ends the choice: in the ids, not in the text; the detokenizer is flushed', () => {
  const { out, detok } = processor({ stopTokenIds: [STOP_ID] });
  const updates = feed(out, [1, 2, STOP_ID]);
  assert.equal(text(updates), 'Hello');
  assert.deepEqual(last(updates).tokenIds, [STOP_ID]);
  assert.equal(last(updates).finishReason, 'stop');
  assert.equal(last(updates).stopReason, String(STOP_ID));
  assert.ok(detok.flushed);
  assert.equal(out.numOutputTokens, 3);
});

test('EOS stops with no stop reason; ignore_eos keeps going and bans EOS', () => {
  const { out } = processor();
  const updates = feed(out, [1, EOS]);
  assert.deepEqual([last(updates).finishReason, last(updates).stopReason, text(updates)], ['stop', '', 'Hel']);

  const ignoring = processor({ ignoreEos: true, maxTokens: 3 }).out;
  assert.deepEqual(ignoring.bannedIds(), [EOS]);
  const through = feed(ignoring, [1, EOS, 2]);
  assert.deepEqual(through.map((u) => u.finishReason), ['', '', 'length']);
});

test('min_tokens bans EOS and stop ids until reached and defers stop strings', () => {
  const { out } = processor({ minTokens: 2, stopTokenIds: [STOP_ID], stop: ['Hel'] });
  assert.deepEqual(out.bannedIds().sort(), [EOS, STOP_ID]);
  const first = feed(out, [1]);
  assert.equal(first[0].text, 'Hel', 'stop strings are not checked below min_tokens');
  assert.deepEqual(out.bannedIds().sort(), [EOS, STOP_ID]);
  feed(out, [2]);
  assert.deepEqual(out.bannedIds(), [], 'after min_tokens nothing is banned');
  const end = feed(out, [1]);
  assert.equal(end[0].finishReason, 'stop');
  assert.equal(end[0].text, '');
});

test('max_tokens ends with "length" and flushes held text', () => {
  const { out, detok } = processor({ maxTokens: 2, stop: ['##x'] });
  const updates = feed(out, [1, 5]);
  assert.deepEqual(updates.map((u) => u.text), ['Hel', '##']);
  assert.equal(last(updates).finishReason, 'length');
  assert.ok(detok.flushed);
});

test('a character split over tokens is streamed once complete', () => {
  const { out } = processor();
  const updates = feed(out, [7, 8]);
  assert.deepEqual(updates.map((u) => u.text), ['', '\u00e9']);
});

test('logprobs are passed through only when asked; abort ends with "abort"', () => {
  const asked = processor({ includeLogprobs: true }).out;
  assert.deepEqual(feed(asked, [1])[0].logprobs, [{ tokenId: 1, logprob: -0.5, topLogprobs: [] }]);
  const { out } = processor();
  assert.deepEqual(feed(out, [1])[0].logprobs, []);
  const aborted = out.abort();
  assert.deepEqual([aborted.finishReason, aborted.tokenIds, aborted.text], ['abort', [], '']);
  assert.ok(out.finished);
});

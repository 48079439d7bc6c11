// QwenTokenizer against Python `tokenizers` on the same files (tests/fixtures/tokenizer/cases.json,
// made by make_fixture.py), plus loading rules and errors for model folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QwenTokenizer, THINK_END_ID, THINK_START_ID } from '../../coordinator/text/tokenizer.ts';
import { TextError } from '../../coordinator/text/errors.ts';

interface TokenizerCase { text: string; ids: number[]; decoded: string; decodedSkipSpecial: string }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/tokenizer/cases.json', import.meta.url), 'utf8')) as
  { vocabSize: number; cases: TokenizerCase[] };
const bundled = QwenTokenizer.bundledFilesDir();
const tokenizer = QwenTokenizer.fromModelDir(bundled);

function withModelDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'm2-tokenizer-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function copyBundled(dir: string, config?: (c: Record<string, unknown>) => void): void {
  copyFileSync(join(bundled, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const c = JSON.parse(readFileSync(join(bundled, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  config?.(c);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(c));
}

test('fixture covers a few hundred strings', () => {
  assert.ok(fixture.cases.length >= 250, `only ${fixture.cases.length} cases`);
  assert.ok(fixture.cases.some((c) => c.ids.includes(THINK_END_ID)));
});

test('encode gives the ids of Python tokenizers for every fixture string', () => {
  const mismatches = fixture.cases.filter((c) => JSON.stringify(tokenizer.encode(c.text)) !== JSON.stringify(c.ids));
  assert.deepEqual(mismatches.map((c) => c.text), []);
});

test('decode matches Python decode, with and without special tokens, and round-trips', () => {
  for (const c of fixture.cases) {
    assert.equal(tokenizer.decode(c.ids), c.decoded, JSON.stringify(c.text));
    assert.equal(tokenizer.decode(c.ids, { skipSpecialTokens: true }), c.decodedSkipSpecial, JSON.stringify(c.text));
    assert.equal(c.decoded, c.text.normalize('NFC'), 'byte-level BPE after the NFC normalizer is lossless');
  }
});

test('vocabulary facts: size, think ids, eos ids, template', () => {
  assert.equal(tokenizer.vocabSize, fixture.vocabSize);
  assert.equal(tokenizer.tokenToId('<think>'), THINK_START_ID);
  assert.equal(QwenTokenizer.THINK_END_ID, THINK_END_ID);
  assert.equal(tokenizer.idToToken(THINK_END_ID), '</think>');
  assert.equal(tokenizer.tokenToId('no such token'), undefined);
  assert.deepEqual(tokenizer.eosTokenIds, [151643, 151645]);
  assert.equal(tokenizer.specialTokens.eos_token, '<|im_end|>');
  assert.match(tokenizer.chatTemplate ?? '', /<\|im_start\|>/);
});

test('ids past the tokenizer vocabulary decode to nothing; malformed ids throw', () => {
  assert.equal(tokenizer.decode([9707, 152000]), 'Hello');
  assert.throws(() => tokenizer.decode([1.5]), (e: unknown) => e instanceof TextError && e.code === 'invalid_token_id');
  assert.throws(() => tokenizer.decode([-1]), TextError);
});

test('missing or corrupt files name the file', () => {
  withModelDir((dir) => {
    assert.throws(() => QwenTokenizer.fromModelDir(dir), (e: unknown) =>
      e instanceof TextError && e.code === 'tokenizer_files' && e.message.includes(join(dir, 'tokenizer.json')));
    copyBundled(dir);
    writeFileSync(join(dir, 'tokenizer_config.json'), '{"eos_token": ');
    assert.throws(() => QwenTokenizer.fromModelDir(dir), /tokenizer_config\.json/);
    writeFileSync(join(dir, 'tokenizer_config.json'), '[1, 2]');
    assert.throws(() => QwenTokenizer.fromModelDir(dir), /must hold a JSON object: .*tokenizer_config\.json/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "Nope"}}');
    writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
    assert.throws(() => QwenTokenizer.fromModelDir(dir), /tokenizer\.json/);
  });
});

test('chat template: chat_template.jinja first, else the config (string or named list); eos from generation_config', () => {
  withModelDir((dir) => {
    copyBundled(dir, (c) => { c.chat_template = [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }]; });
    assert.equal(QwenTokenizer.fromModelDir(dir).chatTemplate, 'D');
    copyBundled(dir, (c) => { delete c.chat_template; });
    assert.equal(QwenTokenizer.fromModelDir(dir).chatTemplate, undefined);
    copyBundled(dir);
    writeFileSync(join(dir, 'chat_template.jinja'), 'J');
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643, 151658] }));
    const loaded = QwenTokenizer.fromModelDir(dir);
    assert.equal(loaded.chatTemplate, 'J');
    assert.deepEqual(loaded.eosTokenIds, [151643, 151645, 151658]);
  });
});

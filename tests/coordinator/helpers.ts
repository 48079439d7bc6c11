// Shared pieces of the coordinator tests: an engine wired to the fake model, a trivial
// detokenizer, a seeded PRNG, and a collector that checks the stream's shape while reading it.
import assert from 'node:assert/strict';
import { Engine } from '../../coordinator/engine/engine.ts';
import type { EngineConfigInput } from '../../coordinator/engine/config.ts';
import type { Detokenizer } from '../../coordinator/engine/output-processor.ts';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { Usage__Output } from '../../proto/gen/m2/v1/Usage.ts';
import { FakeModelExecutor } from './fake-model.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

export const VOCAB = 64;
export const EOS = 0;

/** Id i reads as a letter, repeated for larger ids: 0 'a', 1 'b', ..., 26 'aa'. */
export function tokenText(id: number): string {
  return String.fromCharCode(97 + (id % 26)).repeat(1 + Math.floor(id / 26));
}

export class LetterDetokenizer implements Detokenizer {
  push(id: number): string {
    return tokenText(id);
  }
  flush(): string {
    return '';
  }
}


export function randomTokens(random: () => number, length: number): number[] {
  // Avoid EOS in prompts so that prompts read naturally; it would not matter to the engine.
  return Array.from({ length }, () => 1 + Math.floor(random() * (VOCAB - 1)));
}

export type TestEngineConfig = Partial<EngineConfigInput> & { numKvBlocks: number };

export function makeEngine(config: TestEngineConfig): { engine: Engine; model: FakeModelExecutor } {
  const full: EngineConfigInput = {
    maxModelLen: config.numKvBlocks * (config.blockSize ?? 16),
    eosTokenIds: [EOS],
    vocabSize: VOCAB,
    ...config,
  };
  const model = new FakeModelExecutor({
    vocabSize: VOCAB,
    numBlocks: full.numKvBlocks,
    blockSize: full.blockSize ?? 16,
    maxNumBatchedTokens: full.maxNumBatchedTokens ?? 2048,
    maxNumSeqs: full.maxNumSeqs ?? 256,
  });
  const engine = new Engine(model, full, { createDetokenizer: () => new LetterDetokenizer(), drawSeed: () => 12345 });
  return { engine, model };
}

export interface ChoiceResult {
  tokenIds: number[];
  text: string;
  finishReason: string;
  stopReason: string;
  numLogprobs: number;
}

export interface RequestResult {
  choices: ChoiceResult[];
  usage: Usage__Output | null;
  messages: EngineGenerateResponse__Output[];
}

/** Reads a whole stream, checking that each choice finishes once and usage comes last. */
export async function collect(stream: AsyncIterable<EngineGenerateResponse__Output>): Promise<RequestResult> {
  const choices: ChoiceResult[] = [];
  const messages: EngineGenerateResponse__Output[] = [];
  let usage: Usage__Output | null = null;
  for await (const message of stream) {
    assert.equal(usage, null, 'no message after the one carrying usage');
    messages.push(message);
    for (const delta of message.choices) {
      const choice = (choices[delta.index] ??= { tokenIds: [], text: '', finishReason: '', stopReason: '', numLogprobs: 0 });
      assert.equal(choice.finishReason, '', `choice ${delta.index} updated after it finished`);
      choice.tokenIds.push(...delta.tokenIds);
      choice.text += delta.text;
      choice.finishReason = delta.finishReason;
      choice.stopReason = delta.stopReason;
      choice.numLogprobs += delta.logprobs.length;
    }
    usage = message.usage;
  }
  assert.notEqual(usage, null, 'the last message carries usage');
  for (const choice of choices) assert.notEqual(choice.finishReason, '', 'every choice finished');
  return { choices, usage, messages };
}

/** Every block free or cached-unreferenced, nothing running or waiting. */
export function assertNoLeaks(engine: Engine): void {
  engine.checkInvariants();
  const stats = engine.stats();
  assert.equal(stats.numRunning, 0);
  assert.equal(stats.numWaiting, 0);
  assert.equal(stats.kvCacheUsage, 0);
}

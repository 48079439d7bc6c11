// The engine's output side with the real Qwen tokenizer and IncrementalDetokenizer: a scripted
// executor replays known token ids (CJK and emoji split across tokens), so the streamed text can be
// compared with decoding all ids at once, and stop strings are checked on real text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine, type StepExecutor } from '../../coordinator/engine/index.ts';
import { IncrementalDetokenizer } from '../../coordinator/text/detokenizer.ts';
import { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';
import { assertNoLeaks, collect } from './helpers.ts';

const tokenizer = QwenTokenizer.fromModelDir(QwenTokenizer.bundledFilesDir());
const IM_END = tokenizer.tokenToId('<|im_end|>')!;
const ANSWER = '我头疼了三天🤕，吃了布洛芬。The answer is 42.';

/** Answers every sequence with SCRIPT[output position], as if the model had said it. */
class ScriptedExecutor implements StepExecutor {
  constructor(private readonly script: readonly number[]) {}

  async step(request: StepRequest__Output): Promise<StepResponse__Output> {
    const outputs = request.sequences
      .filter((seq) => seq.outputIndices.length > 0)
      .map((seq) => {
        const outputPosition = seq.startPosition + seq.numTokens - seq.promptLen;
        return { seqId: seq.seqId, tokens: [{ tokenId: this.script[outputPosition], logprob: 0, topLogprobs: [] }], capturedHidden: Buffer.alloc(0) };
      });
    return { stepId: request.stepId, rank: 0, outputs, timings: null };
  }

  async release(): Promise<void> {}
}

function engineFor(script: readonly number[]): Engine {
  return new Engine(
    new ScriptedExecutor(script),
    { numKvBlocks: 16, maxModelLen: 256, eosTokenIds: tokenizer.eosTokenIds, vocabSize: 152064 },
    { createDetokenizer: (options) => new IncrementalDetokenizer(tokenizer, options) },
  );
}

const prompt = tokenizer.encode('<|im_start|>user\nHelp<|im_end|>\n<|im_start|>assistant\n');
const answerIds = tokenizer.encode(ANSWER);

test('streamed text equals decoding all ids, in whole characters, ending at <|im_end|>', async () => {
  const engine = engineFor([...answerIds, IM_END, ...answerIds]);
  const result = await collect(engine.generate({ requestId: 't', promptTokenIds: prompt, params: { maxTokens: 100 } }));
  const choice = result.choices[0];
  assert.equal(choice.text, ANSWER);
  assert.deepEqual(choice.tokenIds, [...answerIds, IM_END]);
  assert.deepEqual([choice.finishReason, choice.stopReason], ['stop', '']);
  for (const message of result.messages) for (const delta of message.choices) assert.ok(!delta.text.includes('\uFFFD'));
  assertNoLeaks(engine);
  await engine.close();
});

test('a stop string in real text ends the output before it; special tokens stay out unless asked', async () => {
  const engine = engineFor([...answerIds, IM_END]);
  const stopped = await collect(
    engine.generate({ requestId: 's', promptTokenIds: prompt, params: { maxTokens: 100, stop: ['布洛芬', 'answer'] } }),
  );
  assert.equal(stopped.choices[0].text, '我头疼了三天🤕，吃了');
  assert.equal(stopped.choices[0].stopReason, '布洛芬');
  const special = await collect(
    engine.generate({
      requestId: 'k',
      promptTokenIds: prompt,
      params: { maxTokens: answerIds.length + 1, ignoreEos: true, includeSpecialTokens: true },
    }),
  );
  // ignore_eos bans <|im_end|>, but the scripted model says it anyway: it is then ordinary text.
  assert.equal(special.choices[0].text, ANSWER + '<|im_end|>');
  assert.equal(special.choices[0].finishReason, 'length');
  assertNoLeaks(engine);
  await engine.close();
});

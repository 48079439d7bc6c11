// `m2 export-gguf` against llama.cpp itself (node-llama-cpp's prebuilt CPU binary): the export of
// `tiny` loads, tokenizes like Qwen, and llama.cpp's greedy choices, teacher-forced on our greedy
// ids, agree with ours wherever its top1-top2 logit gap is not a near-tie (DESIGN.md's rule).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, readGgufFileInfo, type ControlledEvaluateInputItem, type Llama, type Token } from 'node-llama-cpp';
import { makeModel } from '../../worker/model/make-model.ts';
import { exportGguf, GgufExportError } from '../../worker/model/gguf-writer.ts';
import { loadShard } from '../../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../../worker/shard/kv-block-allocator.ts';
import { LocalGenerator } from '../../worker/local-generate.ts';

const dir = makeModel({ preset: 'tiny' });
const work = mkdtempSync(join(tmpdir(), 'm2-gguf-'));
after(() => rmSync(work, { recursive: true, force: true }));
// Raw token-id prompts: no tokenizer or template difference can enter the comparison.
const prompts = [[9707, 11, 1879, 0], [40, 1079, 264, 1273, 315, 279, 29920, 1849, 13], [104100, 99489, 3837, 108386]];
const STEPS = 12;
// Reference top1-top2 logit gap below which a different choice is a legitimate near-tie.
const GAP_TOLERANCE = 1e-3;

let llamaInstance: Llama | undefined;
async function llama(): Promise<Llama> {
  llamaInstance ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llamaInstance;
}
after(async () => llamaInstance?.dispose());

async function oursGreedy(): Promise<number[][]> {
  const { model } = loadShard(dir, { limits: { threads: 2, maxTokens: 64, numBlocks: 16, blockSize: 16, maxModelLen: 64 } });
  const results = await new LocalGenerator(model, new KvBlockAllocator(16, 16)).generate(
    prompts.map((prompt) => ({ prompt, maxTokens: STEPS })),
    { maxStepTokens: 64 },
  );
  return results.map((r) => r.tokens);
}

test('llama.cpp loads the f32 export of tiny and agrees with our greedy ids', async () => {
  const path = join(work, 'tiny-f32.gguf');
  exportGguf(dir, path, 'f32');
  const model = await (await llama()).loadModel({ modelPath: path });
  try {
    assert.deepEqual(model.tokenize('Hello, world!'), [9707, 11, 1879, 0], 'Qwen BPE tokenization');
    const ours = await oursGreedy();
    let compared = 0;
    for (const [i, prompt] of prompts.entries()) {
      const context = await model.createContext({ contextSize: 64, threads: 2 });
      try {
        const teacher = [...prompt, ...ours[i].slice(0, -1)] as Token[];
        const input: ControlledEvaluateInputItem[] = teacher.map((t, j) =>
          j >= prompt.length - 1 ? [t, { generateNext: { probabilities: true } }] : t);
        const outputs = await context.getSequence().controlledEvaluate(input);
        for (let step = 0; step < STEPS; ++step) {
          const probs = outputs[prompt.length - 1 + step]?.next?.probabilities;
          assert.ok(probs, `prompt ${i} step ${step}: llama.cpp returned no probabilities`);
          const [[top1, p1], [, p2]] = [...probs.entries()].slice(0, 2);
          if (Math.log(p1) - Math.log(p2) < GAP_TOLERANCE) continue;
          compared++;
          assert.equal(ours[i][step], top1, `prompt ${i} step ${step}: our greedy id vs llama.cpp's argmax`);
        }
      } finally {
        await context.dispose();
      }
    }
    assert.ok(compared >= prompts.length * STEPS * 0.8, `only ${compared} steps were outside near-ties`);
  } finally {
    await model.dispose();
  }
});

test('f16 and bf16 exports carry Qwen2 metadata, the tokenizer and typed tensors', async () => {
  for (const [type, ggmlType, fileType] of [['f16', 1, 1], ['bf16', 30, 32]] as const) {
    const path = join(work, `tiny-${type}.gguf`);
    exportGguf(dir, path, type);
    const info = await readGgufFileInfo(path);
    const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
    assert.equal(meta.general.architecture, 'qwen2');
    assert.equal(meta.general.file_type, fileType);
    const qwen2 = meta.qwen2 as { block_count: number; attention: { head_count: number; head_count_kv: number } };
    assert.deepEqual([qwen2.block_count, qwen2.attention.head_count, qwen2.attention.head_count_kv], [2, 8, 4]);
    const ggml = meta.tokenizer.ggml as { model: string; pre: string; tokens: string[]; merges: string[]; eos_token_id: number };
    assert.deepEqual([ggml.model, ggml.pre, ggml.tokens.length, ggml.tokens[151645]], ['gpt2', 'qwen2', 152064, '<|im_end|>']);
    assert.ok(ggml.merges.length > 150000 && ggml.merges[0].split(' ').length === 2);
    assert.equal(typeof meta.tokenizer.chat_template, 'string');
    const types = new Map((info.fullTensorInfo ?? []).map((t) => [t.name, t.ggmlType as number]));
    assert.equal(types.get('blk.0.ffn_down.weight'), ggmlType);
    assert.equal(types.get('blk.1.attn_q.bias'), 0, 'biases stay f32');
    assert.equal(types.get('output_norm.weight'), 0, 'norms stay f32');
    const model = await (await llama()).loadModel({ modelPath: path });
    await model.dispose();
  }
});

test('a checkpoint without tokenizer.json is refused with a clear error', () => {
  assert.throws(() => exportGguf(makeModel({ preset: 'micro', seed: 1 }), join(work, 'micro.gguf'), 'f32'),
    (e: unknown) => e instanceof GgufExportError && /no tokenizer\.json/.test(e.message));
});

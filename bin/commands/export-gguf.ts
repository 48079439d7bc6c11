// `m2 export-gguf`: the same weights as a GGUF file for llama.cpp, so the CPU benchmark compares
// both engines on identical weights and precision.
import { existsSync } from 'node:fs';
import { exportGguf, type GgufFloatType } from '../../worker/model/gguf-writer.ts';
import { CliError, choiceOpt, stringOpt, type Command } from '../command.ts';

const TYPES: readonly GgufFloatType[] = ['f32', 'f16', 'bf16'];

export const exportGgufCommand: Command = {
  name: 'export-gguf',
  summary: 'write a checkpoint as a GGUF file (Qwen2, with tokenizer) for llama.cpp',
  usage: `Usage: m2 export-gguf --model DIR --out FILE [--type f32|f16|bf16]

Writes GGUF v3 with qwen2 metadata, the tokenizer (gpt2 BPE, qwen2 pre-tokenizer, merges,
bos/eos/pad, chat template) and every tensor; matrices take --type, norms and biases stay f32.

Options:
  --model DIR   HF checkpoint folder (config.json, safetensors, tokenizer.json)
  --out FILE    GGUF file to write (overwritten)
  --type T      f32 | f16 | bf16 (default bf16)`,
  options: {
    model: { type: 'string' },
    out: { type: 'string' },
    type: { type: 'string' },
  },
  async run(values) {
    const model = stringOpt(values, 'model');
    const out = stringOpt(values, 'out');
    if (!model || !out) throw new CliError('--model and --out are required', 2);
    if (!existsSync(model)) throw new CliError(`--model ${model}: no such folder`);
    const type = choiceOpt(values, 'type', TYPES) ?? 'bf16';
    const started = performance.now();
    const { tensors, bytes } = exportGguf(model, out, type);
    const seconds = (performance.now() - started) / 1000;
    console.log(`${out} (${tensors} tensors, ${(bytes / 1e6).toFixed(1)} MB, ${type}, ${seconds.toFixed(1)} s)`);
    return 0;
  },
};

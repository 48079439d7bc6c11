// `m2 make-model`: the embedded default models (DESIGN.md, "Model presets").
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeModel } from '../../worker/model/make-model.ts';
import { PRESET_NAMES, PRESETS } from '../../worker/model/presets.ts';
import { CliError, choiceOpt, intOpt, stringOpt, type Command } from '../command.ts';

const DTYPES = ['float32', 'bfloat16', 'float16'] as const;

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

export const makeModelCommand: Command = {
  name: 'make-model',
  summary: 'write a seeded random model in the HF layout (micro, tiny, small, m2-32b)',
  usage: `Usage: m2 make-model --preset micro|tiny|small|m2-32b [options]

Writes config.json, generation_config.json, sharded safetensors with an index and (except micro)
the Qwen tokenizer files with the thinking-aware chat template. Same seed -> same bytes.

Options:
  --preset NAME    micro | tiny | small | m2-32b (required)
  --seed S         weight seed, 0..4294967295 (default 0)
  --dtype T        float32 | bfloat16 | float16 (default: the preset's)
  --layers N       number of decoder layers (default: the preset's)
  --out DIR        output folder (default ~/.cache/m2/models/<preset>-<seed>[-variant];
                   M2_CACHE_DIR overrides ~/.cache/m2). An existing complete model is reused.
  --json           print {"dir", "bytes", "seconds"} as JSON`,
  options: {
    preset: { type: 'string' },
    seed: { type: 'string' },
    dtype: { type: 'string' },
    layers: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const preset = choiceOpt(values, 'preset', PRESET_NAMES);
    if (!preset) throw new CliError('--preset is required (micro, tiny, small, m2-32b)', 2);
    const layers = intOpt(values, 'layers', 1, 1024);
    const seed = intOpt(values, 'seed', 0, 0xffffffff);
    const dtype = choiceOpt(values, 'dtype', DTYPES);
    const out = stringOpt(values, 'out');
    const started = performance.now();
    const showProgress = process.stderr.isTTY && !values.json;
    const dir = makeModel({
      preset,
      seed,
      dtype,
      layers,
      out,
      onProgress: showProgress
        ? (done, total) => process.stderr.write(`\rm2 make-model ${preset}: ${done}/${total} tensors${done === total ? '\n' : ''}`)
        : undefined,
    });
    const seconds = (performance.now() - started) / 1000;
    const bytes = dirBytes(dir);
    if (values.json) console.log(JSON.stringify({ dir, bytes, seconds: Number(seconds.toFixed(3)), preset: PRESETS[preset].name }));
    else console.log(`${dir} (${(bytes / 1e6).toFixed(1)} MB, ${seconds.toFixed(1)} s)`);
    return 0;
  },
};

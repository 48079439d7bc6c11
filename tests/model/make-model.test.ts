import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeModel, tensorSpecs } from '../../worker/model/make-model.ts';
import { loadModelConfig } from '../../worker/model/config.ts';
import { SafetensorsCheckpoint } from '../../worker/model/safetensors.ts';
import { decodeFloats } from '../../worker/model/dtype.ts';
import { M2_CHAT_TEMPLATE } from '../../coordinator/text/chat-template.ts';

const root = mkdtempSync(join(tmpdir(), 'm2-make-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

function m2(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/m2.js'), ...args], { encoding: 'utf8', env: { ...process.env, M2_CACHE_DIR: join(root, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('same seed gives the same bytes; another seed other weights', () => {
  const a = makeModel({ preset: 'micro', seed: 7, out: join(root, 'a') });
  const b = makeModel({ preset: 'micro', seed: 7, out: join(root, 'b') });
  const c = makeModel({ preset: 'micro', seed: 8, out: join(root, 'c') });
  assert.deepEqual(digest(a), digest(b));
  const da = digest(a);
  const dc = digest(c);
  assert.notEqual(da['model-00001-of-00003.safetensors'], dc['model-00001-of-00003.safetensors']);
});

test('micro: HF layout, several shards with an index, no tokenizer, shapes match the config', () => {
  const dir = makeModel({ preset: 'micro', seed: 0, out: join(root, 'micro') });
  const files = readdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors.index.json']) assert.ok(files.includes(f), f);
  assert.ok(!files.includes('tokenizer.json'));
  assert.ok(files.filter((f) => f.endsWith('.safetensors')).length >= 2);
  const cfg = loadModelConfig(dir);
  assert.deepEqual([cfg.hiddenSize, cfg.numLayers, cfg.numHeads, cfg.numKvHeads, cfg.headDim, cfg.intermediateSize, cfg.vocabSize], [64, 2, 4, 4, 16, 128, 512]);
  assert.equal(cfg.torchDtype, 'float32');
  const ckpt = SafetensorsCheckpoint.open(dir);
  const expected = tensorSpecs({ hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 4, intermediateSize: 128, vocabSize: 512 }, 'float32', false);
  assert.deepEqual(ckpt.names().sort(), expected.map((s) => s.name).sort());
  for (const spec of expected) assert.deepEqual(ckpt.info(spec.name).shape, spec.shape, spec.name);
  // Scales as documented: unit embeddings, norms around 1.
  const emb = decodeFloats(ckpt.read('model.embed_tokens.weight'), 'F32');
  const std = Math.sqrt(emb.reduce((s, v) => s + v * v, 0) / emb.length);
  assert.ok(Math.abs(std - 1) < 0.05, `embedding std ${std}`);
  const norm = decodeFloats(ckpt.read('model.norm.weight'), 'F32');
  assert.ok(norm.every((v) => v > 0.8 && v < 1.2));
  ckpt.close();
});

test('tiny: real Qwen tokenizer files with our thinking-aware template; --layers and --dtype variants', () => {
  const dir = makeModel({ preset: 'tiny', seed: 0, out: join(root, 'tiny') });
  const tokConfig = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template: string; added_tokens_decoder: Record<string, { content: string }> };
  assert.equal(tokConfig.chat_template, M2_CHAT_TEMPLATE);
  assert.equal(tokConfig.added_tokens_decoder['151668'].content, '</think>');
  const cfg = loadModelConfig(dir);
  assert.equal(cfg.vocabSize, 152064);
  assert.deepEqual(cfg.eosTokenIds, [151645, 151643]);
  assert.equal(cfg.headDim, 16);

  const bf = makeModel({ preset: 'micro', seed: 0, dtype: 'bfloat16', layers: 3, out: join(root, 'micro-bf16') });
  const cfgBf = loadModelConfig(bf);
  assert.equal(cfgBf.torchDtype, 'bfloat16');
  assert.equal(cfgBf.numLayers, 3);
  const ckpt = SafetensorsCheckpoint.open(bf);
  assert.equal(ckpt.info('model.layers.2.mlp.down_proj.weight').dtype, 'BF16');
  // A layer's weights do not depend on how many layers were made.
  const f32 = SafetensorsCheckpoint.open(join(root, 'micro'));
  const w32 = decodeFloats(f32.read('model.layers.1.mlp.up_proj.weight'), 'F32');
  const w16 = decodeFloats(ckpt.read('model.layers.1.mlp.up_proj.weight'), 'BF16');
  for (let i = 0; i < w32.length; i += 97) assert.ok(Math.abs(w32[i] - w16[i]) <= Math.abs(w32[i]) * 2 ** -8 + 1e-30);
  ckpt.close();
  f32.close();
});

test('CLI: --json, reuse of a complete model, clear one-line errors', () => {
  const out = join(root, 'cli');
  const r = m2('make-model', '--preset', 'micro', '--seed', '3', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { dir: string; bytes: number };
  assert.equal(info.dir, out);
  assert.ok(info.bytes > 500_000);
  assert.equal(m2('make-model', '--preset', 'micro', '--seed', '3', '--out', out).status, 0);

  const cases: [string[], number, RegExp][] = [
    [['make-model'], 2, /--preset is required/],
    [['make-model', '--preset', 'huge'], 2, /--preset must be one of micro, tiny, small, m2-32b/],
    [['make-model', '--preset', 'micro', '--seed=-1'], 2, /--seed must be an integer/],
    [['make-model', '--preset', 'micro', '--layers', '0'], 2, /--layers must be an integer in 1\.\./],
    [['make-model', '--preset', 'micro', '--bogus'], 2, /Unknown option '--bogus'/],
    [['nope'], 2, /unknown command "nope"/],
  ];
  for (const [args, status, pattern] of cases) {
    const res = m2(...args);
    assert.equal(res.status, status, args.join(' '));
    assert.match(res.stderr, pattern);
    assert.equal(res.stderr.trim().split('\n').length, 1, `one line: ${res.stderr}`);
    assert.match(res.stderr, /^m2: /);
  }
  const occupied = join(root, 'occupied');
  mkdirSync(occupied);
  writeFileSync(join(occupied, 'notes.txt'), 'mine');
  const res = m2('make-model', '--preset', 'micro', '--out', occupied);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /exists and is not a model made by make-model; refusing to overwrite it/);
  assert.equal(readFileSync(join(occupied, 'notes.txt'), 'utf8'), 'mine');
  const help = m2('make-model', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--preset NAME/);
  assert.equal(m2('--help').status, 0);
});

// The Dockerfile the chart's images come from: no lint findings (dockerfile-utils; hadolint is
// not installable offline here), and the two targets the chart references, each running `m2` as
// the unprivileged user the pods' securityContext asks for. No image is built here: no engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { REPO_ROOT } from './kube-tools.ts';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

interface Stage { from: string; name: string; body: string }

function stages(text: string): Stage[] {
  return text.split(/^(?=FROM )/m).slice(1).map((chunk) => {
    const m = /^FROM (\S+)(?: AS (\S+))?/.exec(chunk);
    assert.ok(m, `bad FROM line: ${chunk.split('\n')[0]}`);
    return { from: m[1], name: m[2] ?? '', body: chunk };
  });
}

test('Dockerfile has no lint findings, with every optional check raised to an error', () => {
  const strict: ValidatorSettings = {
    deprecatedMaintainer: ValidationSeverity.ERROR,
    directiveCasing: ValidationSeverity.ERROR,
    emptyContinuationLine: ValidationSeverity.ERROR,
    instructionCasing: ValidationSeverity.ERROR,
    instructionCmdMultiple: ValidationSeverity.ERROR,
    instructionEntrypointMultiple: ValidationSeverity.ERROR,
    instructionHealthcheckMultiple: ValidationSeverity.ERROR,
    instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
    instructionWorkdirRelative: ValidationSeverity.ERROR,
  };
  const findings = validate(dockerfile, strict).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  assert.deepEqual(findings, []);
  assert.ok(validate('FROM node:20 AS a\nCOPY --form=a x y\n').length > 0, 'the linter reports a bad flag');
});

test('targets cpu (node:20 slim) and cuda (CUDA runtime) run m2 as user 1000, built in separate stages', () => {
  const byName = new Map(stages(dockerfile).map((s) => [s.name, s]));
  assert.match(byName.get('node')?.from ?? '', /^node:\$\{NODE_VERSION\}-bookworm-slim$/);
  assert.match(dockerfile, /^ARG NODE_VERSION=20\.\d+\.\d+$/m, 'Node 20, pinned');
  assert.match(byName.get('cuda')?.from ?? '', /^nvidia\/cuda:\$\{CUDA_VERSION\}-runtime-/);
  assert.match(byName.get('cuda-build')?.from ?? '', /^nvidia\/cuda:\$\{CUDA_VERSION\}-devel-/);
  assert.match(byName.get('cuda-build')?.body ?? '', /M2_BUILD_CUDA=1/, 'no GPU while building: CUDA kernels asked for');
  assert.equal(byName.get('cpu')?.from, 'node');
  for (const target of ['cpu', 'cuda']) {
    const body = byName.get(target)?.body ?? '';
    assert.match(body, /^USER 1000:1000$/m, `${target} runs as the pods' runAsUser`);
    assert.match(body, /^ENTRYPOINT \["m2"\]$/m);
    assert.doesNotMatch(body, /apt-get|npm ci|g\+\+/, `${target} carries no build tools`);
  }
  for (const s of stages(dockerfile)) {
    for (const install of s.body.match(/apt-get install[^\n]*/g) ?? []) assert.match(install, /--no-install-recommends/);
    if (s.body.includes('apt-get update')) assert.match(s.body, /rm -rf \/var\/lib\/apt\/lists/);
  }
  const values = readFileSync(join(REPO_ROOT, 'helm', 'm2-cluster', 'values.yaml'), 'utf8');
  assert.match(values, /cudaSuffix: "-cuda"/);
  assert.match(values, /cpuSuffix: "-cpu"/);
  const chart = readFileSync(join(REPO_ROOT, 'helm', 'm2-cluster', 'Chart.yaml'), 'utf8');
  const appVersion = /^appVersion: "([^"]+)"$/m.exec(chart)?.[1] ?? 'missing';
  assert.ok(dockerfile.includes(`--target cpu  -t m2-cluster:${appVersion}-cpu `), 'documented tags match the chart\'s appVersion');
  assert.ok(dockerfile.includes(`--target cuda -t m2-cluster:${appVersion}-cuda `));
});

test('.dockerignore keeps host builds and dependencies out of the image context', () => {
  const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const path of ['node_modules', 'build', '.git', 'tests']) assert.ok(ignored.includes(path), path);
});

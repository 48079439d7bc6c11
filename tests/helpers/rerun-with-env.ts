// Kernel paths are chosen once per process (CPU features under M2_KERNELS_* caps): a test file
// covers another path by running itself again in a child with the cap set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs the test file at `fileUrl` (its import.meta.url) in a child with `extra` set; asserts it passes. */
export function passesWith(fileUrl: string, extra: Record<string, string>): void {
  const { NODE_TEST_CONTEXT: _parentRunner, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', fileURLToPath(fileUrl)], {
    env: { ...env, ...extra },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /# fail 0/);
}

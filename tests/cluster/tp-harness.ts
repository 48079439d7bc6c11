// What the cluster TP tests share: running `m2` as a real process, and finding what a run left
// behind. Every process a test starts carries a unique M2_TEST_TAG in its environment (children
// inherit it), so leftovers are found by tag even after they were reparented, and runs of other
// suites on the same machine are never mistaken for ours.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const M2_BIN = fileURLToPath(new URL('../../bin/m2.js', import.meta.url));
const TAG_VAR = 'M2_TEST_TAG';

export function newTag(): string {
  return `tp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Pids of live (non-zombie) `m2` processes whose environment carries `tag`, this process
 * excluded. Helpers they start also inherit the tag and are not counted: on a cold transform
 * cache tsx runs an esbuild service in each process, which ends when its parent does.
 */
export function processesTagged(tag: string): number[] {
  const needle = `${TAG_VAR}=${tag}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').includes(M2_BIN)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, 'latin1'))) continue;
      found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Direct children of `pid` (every thread's list). */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** /dev/shm entries of the collectives a coordinator with this pid created (`m2-<pid>-<hex>`). */
export function shmSegmentsOf(pid: number): string[] {
  return readdirSync('/dev/shm').filter((n) => n.startsWith(`m2-${pid}-`));
}

export interface M2Result {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface M2Run {
  pid: number;
  /** Resolves when the process ended. */
  done: Promise<M2Result>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `m2 <args>` tagged with `tag`; SIGKILLed at `timeoutMs` so a hang fails the test instead of stalling it. */
export function startM2(args: string[], tag: string, timeoutMs = 60_000): M2Run {
  const child = spawn(process.execPath, [M2_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [TAG_VAR]: tag } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const pid = child.pid!;
  const done = new Promise<M2Result>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid, code, signal, stdout, stderr });
    });
  });
  return { pid, done, kill: (signal) => child.kill(signal) };
}

/** Runs `m2 <args>` to the end. */
export function runM2(args: string[], tag: string, timeoutMs?: number): Promise<M2Result> {
  return startM2(args, tag, timeoutMs).done;
}

/** Kills (SIGKILL) whatever still carries `tag`, so one failing test cannot leak into the next. */
export function killTagged(tag: string): void {
  for (const pid of processesTagged(tag)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

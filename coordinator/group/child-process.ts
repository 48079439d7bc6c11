// Spawns m2 child processes (workers, coordinators) and waits for their ready line. Children
// are killed when the parent exits, SIGINT/SIGTERM included, and shut themselves down when the
// parent dies without a chance to clean up, so no run leaves processes behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseReadyLine, type ReadyFields } from './ready-line.ts';

const M2_BIN = fileURLToPath(new URL('../../bin/m2.js', import.meta.url));
/** Set for spawned children: they exit when their stdin (the parent's end of the pipe) closes. */
export const EXIT_WITH_PARENT_ENV = 'M2_EXIT_WITH_PARENT';

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A command that drains on this signal owns the shutdown (the exit hook still kills stragglers).
      if (process.listenerCount(signal) > 1) return;
      for (const child of live) child.kill('SIGKILL');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export interface M2Child {
  process: ChildProcess;
  ready: ReadyFields;
  /** Resolves with the exit code (or signal name) when the child ends. */
  exited: Promise<string>;
  /** Last lines the child wrote on stderr (for error messages). */
  stderrTail(): string;
}

export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';
}

/** Runs `m2 <args>` and resolves once it printed its ready line. */
export function spawnM2(args: string[], opts: { name: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<M2Child> {
  installExitHooks();
  // Own process group: a terminal's Ctrl-C reaches only this process, which then drains and
  // stops its children in order. The stdin pipe is the lifeline: when this process dies in any
  // way (SIGKILL included), the child sees end-of-file and shuts down (bin/cli.ts).
  const child = spawn(process.execPath, [M2_BIN, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, ...opts.env, [EXIT_WITH_PARENT_ENV]: '1' },
  });
  live.add(child);
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (process.env.M2_CHILD_LOGS) process.stderr.write(`[${opts.name}] ${line}\n`);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ?? String(code));
    });
  });
  const stderrTail = (): string => tail.slice(-5).join(' | ');
  return new Promise<M2Child>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ChildStartError(`${opts.name} did not become ready within ${opts.timeoutMs} ms${tail.length ? `: ${stderrTail()}` : ''}`));
    }, opts.timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const ready = parseReadyLine(line);
      if (!ready) return;
      clearTimeout(timer);
      lines.removeAllListeners('line');
      child.stdout!.resume();
      resolve({ process: child, ready, exited, stderrTail });
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new ChildStartError(`${opts.name} exited (${how}) before it was ready${tail.length ? `: ${stderrTail()}` : ''}`));
    });
  });
}

/** Kills children still running (SIGTERM, then SIGKILL after graceMs) and waits for them. */
export async function stopChildren(children: M2Child[], graceMs = 2000): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.process.exitCode !== null || c.process.signalCode !== null) return;
      c.process.kill('SIGTERM');
      const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
      await c.exited;
      clearTimeout(timer);
    }),
  );
}

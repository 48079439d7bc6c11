// A real nats-server for the membership tests: started on a free loopback port (`-p -1`) with a
// temp dir for its ports file (how we learn the port it picked), stopped with SIGKILL (no goodbye
// to clients, like a crashed pod), and restartable on the same port to test reconnects.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const READY_TIMEOUT_MS = 10_000;

export class NatsServer {
  private child: ChildProcess | undefined;
  private port = -1;
  private readonly dir = mkdtempSync(join(tmpdir(), 'm2-nats-'));
  private log = '';

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts nats-server (on a free port the first time, on the same port after a stop). */
  async start(): Promise<void> {
    if (spawnSync('nats-server', ['--version']).error) throw new Error('nats-server is not installed (npm test installs it: node bin/ensure-system-packages.js)');
    const portsDir = mkdtempSync(join(this.dir, 'run-'));
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '--ports_file_dir', portsDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.log = (this.log + d).slice(-4000)));
    this.child = child;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const file = readdirSync(portsDir).find((f) => f.endsWith('.ports'));
      const ports = file === undefined ? undefined : tryParse(readFileSync(join(portsDir, file), 'utf8'));
      const url = ports?.nats?.[0];
      if (url !== undefined) {
        this.port = Number(new URL(url).port);
        return;
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server did not start: ${this.log}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGKILL: clients see the connection drop, nothing more. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function tryParse(text: string): { nats?: string[] } | undefined {
  try {
    return JSON.parse(text) as { nats?: string[] };
  } catch {
    return undefined; // still being written
  }
}

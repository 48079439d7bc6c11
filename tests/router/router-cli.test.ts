// `m2 router` as a child process: the ready line, flags mirrored by M2_* variables, one-line
// start-up failures, and SIGTERM drains (new requests refused, in-flight streams finish, or are
// aborted when the grace period runs out) before exiting 0.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeCoordinator } from './fake-coordinator.ts';
import { MODEL_DIR, parseSse, tinyTokenizer } from './harness.ts';

const M2 = join(import.meta.dirname, '../../bin/m2.js');
let fake: FakeCoordinator;
const children = new Set<ChildProcessWithoutNullStreams>();

before(async () => {
  fake = await FakeCoordinator.start(tinyTokenizer());
});
after(() => {
  for (const child of children) child.kill('SIGKILL');
  fake.close();
});

interface RouterChild {
  child: ChildProcessWithoutNullStreams;
  readyLine: string;
  url: string;
  exit: Promise<number | null>;
}

async function startRouterChild(args: string[], env: Record<string, string> = {}): Promise<RouterChild> {
  const child = spawn(process.execPath, [M2, 'router', ...args], { env: { ...process.env, ...env } });
  children.add(child);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    children.delete(child);
    resolve(code);
  }));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d; });
  const readyLine = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('m2 ready '));
      if (line) resolve(line);
    });
    void exit.then((code) => reject(new Error(`router exited ${code} before ready: ${stderr}`)));
  });
  const url = /http=(\S+)/.exec(readyLine)![1]!;
  return { child, readyLine, url, exit };
}

function streamChat(url: string) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true }),
  });
}

test('prints the ready line, reads M2_* variables, serves, and drains on SIGTERM', async () => {
  fake.mode = 'script';
  fake.outputText = 'one two three four five six seven eight nine ten</think>done';
  fake.updateDelayMs = 60;
  const r = await startRouterChild(['--port', '0', '--grpc-port', '0', '--host', '127.0.0.1', '--model', MODEL_DIR], {
    M2_COORDINATORS: fake.address,
    M2_SERVED_MODEL_NAME: 'tiny-from-env',
  });
  assert.match(r.readyLine, /^m2 ready http=http:\/\/127\.0\.0\.1:\d+ grpc=127\.0\.0\.1:\d+ model=tiny-from-env$/);
  assert.equal((await fetch(`${r.url}/health`)).status, 200);
  assert.equal((await fetch(`${r.url}/ready`)).status, 200);

  const res = await streamChat(r.url);
  const reader = res.body!.getReader();
  let text = new TextDecoder().decode((await reader.read()).value);
  r.child.kill('SIGTERM');
  // Admission stops at once; the running stream goes on.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const refused = await fetch(`${r.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }) });
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'shutting_down');
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
  const { events, done } = parseSse(text);
  assert.ok(done);
  assert.equal(events.at(-1)!.choices[0].finish_reason, 'stop', 'the in-flight stream finished normally');
  assert.equal(events.map((e) => e.choices[0].delta.content ?? '').join(''), 'done');
  assert.equal(await r.exit, 0);
  fake.updateDelayMs = 0;
});

test('a drain that runs out of time aborts the rest and still exits 0', async () => {
  fake.mode = 'hold';
  try {
    const r = await startRouterChild(['--port', '0', '--grpc-port', '0', '--coordinators', fake.address, '--model', MODEL_DIR, '--drain-timeout', '1']);
    const res = await streamChat(r.url);
    const started = Date.now();
    r.child.kill('SIGTERM');
    const { events, done } = parseSse(await res.text());
    assert.ok(done);
    assert.equal(events.at(-1)!.choices[0].finish_reason, 'abort');
    assert.ok(fake.aborts.length > 0, 'the coordinator was told to abort');
    assert.equal(await r.exit, 0);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= 0.9 && seconds < 10, `drain took ${seconds} s`);
  } finally {
    fake.mode = 'script';
  }
});

test('start-up failures exit non-zero with one clear line', async () => {
  const run = (args: string[]) => spawnSync(process.execPath, [M2, 'router', ...args], { encoding: 'utf8', env: { ...process.env, M2_COORDINATORS: '' } });
  let r = run(['--coordinators', fake.address]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--model is required/);
  r = run(['--model', MODEL_DIR]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--coordinators is required/);
  r = run(['--model', MODEL_DIR, '--coordinators', 'no-port']);
  assert.equal(r.status, 2);
  r = run(['--model', '/nonexistent/model', '--coordinators', fake.address, '--port', '0', '--grpc-port', '0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^m2: cannot start the router: .*config\.json/);
  assert.equal(r.stderr.trim().split('\n').length, 1);

  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    r = run(['--model', MODEL_DIR, '--coordinators', fake.address, '--host', '127.0.0.1', '--port', String(port), '--grpc-port', '0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /EADDRINUSE/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  } finally {
    busy.close();
  }
});

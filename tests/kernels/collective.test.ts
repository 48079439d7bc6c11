// Collectives across real processes (one rank per child process, the production layout):
// results equal the f32 sum in rank order and are bit-identical on every rank, odd sizes and
// chunked sizes work, and a killed or stalled rank fails the others within the deadline with
// no shm segment left behind. This file is also the rank program: run with M2_COLLECTIVE_CHILD
// set, it plays one rank of the scenario described there instead of defining tests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Communicator, isCollectiveError, type CommunicatorOptions } from '../../kernels/collective.ts';

type Scenario = 'exercise' | 'loop' | 'stall' | 'mismatch';
interface RankSpec extends CommunicatorOptions {
  scenario: Scenario;
  seed: number;
}
type RankReport =
  | { rank: number; ok: true; digests: string[]; orderSensitive: boolean; waitNs: number }
  | { rank: number; ok: false; code: string; message: string; failedAt: number };

const SIZES = [1, 7, 896, 5120, 1 << 20];
const CONSECUTIVE_CALLS = 500;

/** Values spread over 2^-12..2^12 so that a different summation order changes the bits. */
function rankData(seed: number, rank: number, count: number, call: number): Float32Array {
  let s = (seed * 0x9e3779b1 + rank * 0x85ebca6b + count * 0xc2b2ae35 + call * 0x27d4eb2f) >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (u * 2 - 1) * 2 ** ((i * 7 + rank * 3) % 25 - 12);
  }
  return out;
}

function sumInOrder(parts: Float32Array[], order: number[]): Float32Array {
  const acc = Float32Array.from(parts[order[0]]);
  for (const r of order.slice(1)) for (let i = 0; i < acc.length; i++) acc[i] += parts[r][i];
  return acc;
}

function digest(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

function exercise(comm: Communicator, spec: RankSpec): RankReport {
  const ranks = [...Array(spec.worldSize).keys()];
  const digests: string[] = [];
  let orderSensitive = false;
  for (const count of SIZES) {
    const parts = ranks.map((r) => rankData(spec.seed, r, count, 0));
    const data = Float32Array.from(parts[spec.rank]);
    comm.allReduceSum(data);
    assert.deepEqual(data, sumInOrder(parts, ranks), `allReduceSum(${count}) differs from the rank-order f32 sum`);
    orderSensitive ||= digest(sumInOrder(parts, ranks.slice().reverse())) !== digest(data);
    digests.push(digest(data));
    const gathered = comm.allGather(parts[spec.rank]);
    for (const r of ranks) assert.deepEqual(gathered.subarray(r * count, (r + 1) * count), parts[r], `allGather(${count}) slice ${r}`);
  }
  for (const root of ranks) {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => (i * 31 + root * 7 + (spec.rank === root ? 1 : 0)) & 0xff);
    comm.broadcast(bytes, root);
    digests.push(digest(bytes));
  }
  for (let call = 1; call <= CONSECUTIVE_CALLS; call++) {
    const parts = ranks.map((r) => rankData(spec.seed, r, 896, call));
    const data = Float32Array.from(parts[spec.rank]);
    comm.allReduceSum(data);
    assert.deepEqual(data, sumInOrder(parts, ranks), `consecutive call ${call}`);
    if (call % 100 === 0) comm.barrier();
  }
  return { rank: spec.rank, ok: true, digests, orderSensitive, waitNs: comm.takeWaitNs() };
}

function playRank(spec: RankSpec): void {
  let comm: Communicator | undefined;
  let report: RankReport;
  try {
    comm = new Communicator(spec);
    if (spec.scenario === 'exercise') {
      report = exercise(comm, spec);
    } else if (spec.scenario === 'mismatch') {
      if (spec.rank === 0) comm.allReduceSum(new Float32Array(896));
      else comm.allGather(new Float32Array(7));
      throw new Error('mismatched calls did not fail');
    } else {
      const data = new Float32Array(5120);
      for (let call = 0; ; call++) {
        if (call === 20) process.stdout.write('running\n');
        if (spec.scenario === 'stall' && call === 20 && spec.rank === spec.worldSize - 1) {
          setInterval(() => {}, 1000); // alive, heartbeat on, but no longer calling
          return;
        }
        comm.allReduceSum(data);
      }
    }
  } catch (err) {
    if (!isCollectiveError(err)) throw err;
    report = { rank: spec.rank, ok: false, code: err.code, message: err.message, failedAt: Date.now() };
  }
  comm?.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

const thisFile = fileURLToPath(import.meta.url);
const childSpec = process.env.M2_COLLECTIVE_CHILD;
if (childSpec !== undefined) playRank(JSON.parse(childSpec) as RankSpec);
else defineTests();

interface RankProcess {
  child: ChildProcess;
  running: Promise<void>;
  exited: Promise<RankReport | undefined>;
}

function defineTests(): void {
  const live = new Set<ChildProcess>();
  after(() => {
    for (const child of live) child.kill('SIGKILL');
  });
  let groups = 0;
  const shmName = (): string => `m2-test-collective-${process.pid}-${groups++}`;

  function startRank(spec: RankSpec): RankProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', thisFile], {
      env: { ...process.env, M2_COLLECTIVE_CHILD: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    live.add(child);
    let out = '';
    let markRunning = (): void => {};
    const running = new Promise<void>((resolve) => (markRunning = resolve));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('running\n')) markRunning();
    });
    const exited = new Promise<RankReport | undefined>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`rank ${spec.rank} (${spec.scenario}) still running after 60 s`));
      }, 60_000);
      child.on('exit', (code, signal) => {
        clearTimeout(watchdog);
        live.delete(child);
        const last = out.trim().split('\n').pop() ?? '';
        if (last.startsWith('{')) resolve(JSON.parse(last) as RankReport);
        else if (signal !== null) resolve(undefined);
        else reject(new Error(`rank ${spec.rank} exited with ${code} and no report`));
      });
    });
    return { child, running, exited };
  }

  async function freeAddress(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return `127.0.0.1:${port}`;
  }

  async function groupOptions(kind: 'shm' | 'tcp'): Promise<Pick<CommunicatorOptions, 'kind' | 'name' | 'addresses'>> {
    return kind === 'shm' ? { kind, name: shmName() } : { kind, addresses: [await freeAddress()] };
  }

  function startGroup(base: Omit<RankSpec, 'rank'>): RankProcess[] {
    return [...Array(base.worldSize).keys()].map((rank) => startRank({ ...base, rank }));
  }

  for (const kind of ['shm', 'tcp'] as const) {
    for (const worldSize of [2, 4]) {
      test(`${kind} ${worldSize} ranks: rank-order sums, bit-identical on every rank, all ops and sizes`, async () => {
        const opts = await groupOptions(kind);
        const started = Date.now();
        // Generous deadline: ranks also generate and check data in JS between calls, on 2 shared cores.
        const reports = await Promise.all(startGroup({ ...opts, worldSize, timeoutMs: 20_000, scenario: 'exercise', seed: 7 + worldSize }).map((r) => r.exited));
        const oks = reports.map((r) => {
          assert.ok(r?.ok, `rank failed: ${JSON.stringify(r)}`);
          return r;
        });
        for (const r of oks) assert.deepEqual(r.digests, oks[0].digests, `rank ${r.rank} bits differ from rank 0`);
        for (const r of oks) assert.ok(r.waitNs > 0, 'takeWaitNs counts time in collectives');
        if (worldSize > 2) assert.ok(oks[0].orderSensitive, 'test data must make summation order observable');
        if (opts.name) assert.equal(existsSync(`/dev/shm/${opts.name}`), false, 'segment unlinked');
        console.log(`# ${kind} x${worldSize}: exercise finished in ${Date.now() - started} ms (incl. process start)`);
      });
    }

    test(`${kind}: a rank killed mid-collective fails the others within the deadline`, async () => {
      const opts = await groupOptions(kind);
      const timeoutMs = 4000;
      const ranks = startGroup({ ...opts, worldSize: 3, timeoutMs, scenario: 'loop', seed: 1 });
      await Promise.all(ranks.map((r) => r.running));
      const killedAt = Date.now();
      ranks[2].child.kill('SIGKILL');
      const reports = await Promise.all(ranks.map((r) => r.exited));
      for (const r of reports.slice(0, 2)) {
        assert.ok(r && !r.ok, `survivor reported ${JSON.stringify(r)}`);
        assert.match(r.code, /^ERR_COLLECTIVE_(PEER_LOST|TIMEOUT)$/);
        assert.match(r.message, /rank \d/);
        assert.ok(r.failedAt - killedAt < timeoutMs + 1000, `failed ${r.failedAt - killedAt} ms after the kill`);
        console.log(`# ${kind}: rank ${r.rank} failed ${r.failedAt - killedAt} ms after the kill: ${r.message}`);
      }
      if (opts.name) assert.equal(existsSync(`/dev/shm/${opts.name}`), false, 'no segment left behind');
    });

    test(`${kind}: a live rank that stops calling makes the others time out`, async () => {
      const opts = await groupOptions(kind);
      const timeoutMs = 800;
      const ranks = startGroup({ ...opts, worldSize: 3, timeoutMs, scenario: 'stall', seed: 1 });
      await Promise.all(ranks.map((r) => r.running));
      const stalledAt = Date.now();
      const reports = await Promise.all(ranks.slice(0, 2).map((r) => r.exited));
      ranks[2].child.kill('SIGKILL');
      assert.ok(reports.some((r) => r && !r.ok && r.code === 'ERR_COLLECTIVE_TIMEOUT'), JSON.stringify(reports));
      for (const r of reports) {
        assert.ok(r && !r.ok, `rank reported ${JSON.stringify(r)}`);
        assert.ok(r.failedAt - stalledAt < timeoutMs * 5, `failed ${r.failedAt - stalledAt} ms after the stall`);
      }
    });

    test(`${kind}: ranks in different calls fail instead of mixing data`, async () => {
      const opts = await groupOptions(kind);
      const reports = await Promise.all(startGroup({ ...opts, worldSize: 2, timeoutMs: 3000, scenario: 'mismatch', seed: 1 }).map((r) => r.exited));
      for (const r of reports) assert.ok(r && !r.ok, JSON.stringify(r));
      assert.ok(reports.some((r) => r && !r.ok && r.code === 'ERR_COLLECTIVE' && /disagree/.test(r.message)), JSON.stringify(reports));
    });
  }

  test('shm: a stale segment left by a crashed run is replaced and nothing is left after', async () => {
    const name = shmName();
    writeFileSync(`/dev/shm/${name}`, Buffer.alloc(8192, 0xab)); // garbage from some earlier crash
    const crashed = startRank({ kind: 'shm', name, worldSize: 2, rank: 0, connectTimeoutMs: 60_000, scenario: 'exercise', seed: 1 });
    for (let i = 0; i < 500 && !existsSync(`/dev/shm/${name}`); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    crashed.child.kill('SIGKILL'); // dies while waiting for rank 1: its segment stays behind
    await crashed.exited;
    assert.ok(existsSync(`/dev/shm/${name}`), 'the crash left a segment');
    const reports = await Promise.all(startGroup({ kind: 'shm', name, worldSize: 2, scenario: 'exercise', seed: 3 }).map((r) => r.exited));
    for (const r of reports) assert.ok(r?.ok, JSON.stringify(r));
    assert.equal(existsSync(`/dev/shm/${name}`), false);
  });

  test('Communicator.connect joins off the JS thread (ranks of one group in one process)', async () => {
    for (const opts of [await groupOptions('shm'), await groupOptions('tcp')]) {
      const comms = await Promise.all([0, 1].map((rank) => Communicator.connect({ ...opts, rank, worldSize: 2 })));
      assert.deepEqual(comms.map((c) => [c.kind, c.rank, c.worldSize]), [[opts.kind, 0, 2], [opts.kind, 1, 2]]);
      for (const c of comms) c.close();
      if (opts.name) assert.equal(existsSync(`/dev/shm/${opts.name}`), false);
    }
    const lonely = Communicator.connect({ kind: 'shm', name: shmName(), rank: 1, worldSize: 2, connectTimeoutMs: 300 });
    await assert.rejects(lonely, (err: unknown) => isCollectiveError(err) && err.code === 'ERR_COLLECTIVE_TIMEOUT' && /did not create the group/.test(err.message));
    await assert.rejects(Communicator.connect({ kind: 'tcp', rank: 0, worldSize: 2 }), /needs options\.addresses/);
  });

  test('bad options are rejected with a clear error', () => {
    assert.throws(() => new Communicator({ kind: 'shm', rank: 0, worldSize: 2 }), /needs options\.name/);
    assert.throws(() => new Communicator({ kind: 'shm', rank: 2, worldSize: 2, name: 'x' }), /rank 2 is outside 0\.\.1/);
    assert.throws(() => new Communicator({ kind: 'tcp', rank: 0, worldSize: 2 }), /needs options\.addresses/);
    assert.throws(() => new Communicator({ kind: 'tcp', rank: 1, worldSize: 2, addresses: ['nohost'] }), /bad address/);
    assert.throws(() => new Communicator({ kind: 'nccl' as 'shm', rank: 0, worldSize: 1 }), /must be 'shm' or 'tcp'/);
    const solo = new Communicator({ kind: 'shm', rank: 0, worldSize: 1, name: shmName() });
    assert.throws(() => solo.allReduceSum([1, 2] as unknown as Float32Array), /expected a Float32Array/);
    assert.throws(() => solo.broadcast(new Uint8Array(4), 3), (err: unknown) => isCollectiveError(err) && /root 3/.test(err.message));
    solo.close();
    assert.throws(() => solo.barrier(), /closed/);
  });
}

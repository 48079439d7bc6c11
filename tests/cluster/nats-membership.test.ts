// The NATS membership contract in process, against a real nats-server: heartbeats make a
// coordinator join, a discover request finds coordinators that were there first, "leaving" and
// silence remove them, malformed messages are logged and ignored, and both sides start before
// NATS does and come back after it restarts.
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { after, before, test } from 'node:test';
import { CoordinatorDiscovery } from '../../coordinator/membership/coordinator-discovery.ts';
import { HeartbeatPublisher } from '../../coordinator/membership/heartbeat-publisher.ts';
import { decodeAnnouncement, encodeAnnouncement, heartbeatSubject } from '../../coordinator/membership/messages.ts';
import { parseNatsServers } from '../../coordinator/membership/nats-link.ts';
import { NatsServer } from './nats-harness.ts';

const INTERVAL_MS = 200;
const nats = new NatsServer();
const toClose: { close?(): Promise<void>; leave?(): Promise<void> }[] = [];

before(() => nats.start());
after(async () => {
  for (const c of toClose) await (c.leave?.() ?? c.close?.());
  await nats.dispose();
});

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - started;
}

interface Watcher {
  discovery: CoordinatorDiscovery;
  events: string[];
  logs: string[];
}

function watch(model: string, url = nats.url): Watcher {
  const events: string[] = [];
  const logs: string[] = [];
  const discovery = new CoordinatorDiscovery({
    natsUrl: url,
    model,
    onJoin: (a) => events.push(`join ${a.address} tp=${a.tp}`),
    onGone: (address, reason) => events.push(`gone ${address} ${reason}`),
    log: (m) => logs.push(m),
  });
  toClose.push(discovery);
  return { discovery, events, logs };
}

function announce(model: string, port: number, url = nats.url, intervalMs = INTERVAL_MS): HeartbeatPublisher {
  const publisher = new HeartbeatPublisher({
    natsUrl: url,
    address: `127.0.0.1:${port}`,
    model,
    tp: 2,
    intervalMs,
    snapshot: () => ({ ready: true, running: 1, waiting: 0, kvUsage: 0.25 }),
    log: () => {},
  });
  toClose.push(publisher);
  return publisher;
}

test('subjects: one token per model whatever its name; server lists are checked', () => {
  assert.equal(heartbeatSubject('Qwen2.5-0.5B'), 'm2.v1.coordinators.Qwen2_5-0_5B');
  assert.equal(heartbeatSubject('a b>*'), 'm2.v1.coordinators.a_b__');
  assert.deepEqual(parseNatsServers('nats://a:4222, b:4223'), ['nats://a:4222', 'b:4223']);
  assert.throws(() => parseNatsServers('http://a:80'), /not a NATS server/);
  assert.throws(() => parseNatsServers(' , '), /no NATS server/);
});

test('decodeAnnouncement names the bad field', () => {
  const good = { kind: 'heartbeat', id: 'x', address: 'h:1', model: 'm', tp: 1, ready: true, running: 0, waiting: 0, kvUsage: 0, startedAt: 1, intervalMs: 1000 };
  assert.deepEqual(decodeAnnouncement(JSON.stringify(good)), good);
  assert.throws(() => decodeAnnouncement('{'), /not JSON/);
  assert.throws(() => decodeAnnouncement('[1]'), /not a JSON object/);
  assert.throws(() => decodeAnnouncement(JSON.stringify({ ...good, address: 'nohost' })), /"address" must be host:port/);
  assert.throws(() => decodeAnnouncement(JSON.stringify({ ...good, tp: 0 })), /"tp" must be a positive integer/);
  assert.throws(() => decodeAnnouncement(JSON.stringify({ ...good, kvUsage: 2 })), /"kvUsage"/);
});

test('a router learns coordinators that announced before it by discover, not by waiting for a heartbeat', async () => {
  // Heartbeats 10 s apart: only the discover answer can tell the router within the 2 s allowed.
  const early = announce('disc', 1001, nats.url, 10_000);
  const late = announce('disc', 1002, nats.url, 10_000);
  // A heartbeat of another model is not ours.
  toClose.push(announce('other-model', 1003));
  await new Promise((r) => setTimeout(r, 300));
  const w = watch('disc');
  const ms = await until('both discovered', () => w.discovery.addresses.length === 2, 2000);
  assert.deepEqual(w.discovery.addresses.sort(), ['127.0.0.1:1001', '127.0.0.1:1002']);
  assert.deepEqual(w.events.sort(), ['join 127.0.0.1:1001 tp=2', 'join 127.0.0.1:1002 tp=2']);
  console.log(`discovered in ${ms.toFixed(0)} ms`);
  await early.leave();
  await until('leaving removes at once', () => w.events.includes('gone 127.0.0.1:1001 it is leaving'), 1000);
  await late.leave();
  await until('second leaves', () => w.discovery.addresses.length === 0, 1000);
});

test('silence: a coordinator that stops without a word is gone after about 3 missed heartbeats', async () => {
  const w = watch('silent');
  // Two heartbeats by hand, then nothing, not even "leaving": what a SIGKILLed coordinator looks like.
  const nc = await connect({ servers: nats.url });
  const beat = { kind: 'heartbeat', id: 'k', address: '127.0.0.1:2001', model: 'silent', tp: 1, ready: true, running: 0, waiting: 0, kvUsage: 0, startedAt: Date.now(), intervalMs: INTERVAL_MS } as const;
  for (let i = 0; i < 2; i++) {
    nc.publish(heartbeatSubject('silent'), encodeAnnouncement(beat));
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
  }
  await nc.close();
  await until('joined', () => w.discovery.addresses.length === 1);
  const stopped = performance.now() - INTERVAL_MS;
  await until('gone', () => w.events.some((e) => e.startsWith('gone 127.0.0.1:2001 no heartbeat')), 10 * INTERVAL_MS);
  const ms = performance.now() - stopped;
  assert.ok(ms >= 2.5 * INTERVAL_MS, `not before ~3 missed heartbeats (${ms.toFixed(0)} ms)`);
});

test('malformed messages on the subject are logged and ignored; valid ones still count', async () => {
  const w = watch('garbage');
  await until('router connected', () => w.logs.some((l) => l.startsWith('NATS connected')));
  const nc = await connect({ servers: nats.url });
  const subject = heartbeatSubject('garbage');
  for (const body of ['not json', '{}', '[]', JSON.stringify({ kind: 'heartbeat', id: 'x', address: '127.0.0.1:1', model: 'garbage' }), '\u0000\u00ff']) nc.publish(subject, body);
  await nc.flush();
  await nc.close();
  await until('five logged', () => w.logs.filter((l) => l.includes('ignoring a malformed message')).length === 5);
  assert.equal(w.discovery.addresses.length, 0);
  announce('garbage', 3001);
  await until('a valid heartbeat still joins', () => w.discovery.addresses.length === 1);
});

test('both sides start before NATS and survive its restart; nobody expires while the router is cut off', async () => {
  const late = new NatsServer();
  toClose.push({ close: () => late.dispose() });
  // Reserve a port, then take the server down so both sides start against nothing.
  await late.start();
  await late.stop();
  const w = watch('restart', late.url);
  announce('restart', 4001, late.url);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(w.discovery.addresses.length, 0);
  assert.ok(w.logs.some((l) => l.includes('unreachable')), 'the router logs that it retries');
  await late.start();
  await until('joined once NATS is up', () => w.discovery.addresses.length === 1, 10_000);
  await late.stop();
  // Much longer than 3 heartbeat periods: silence while the router is disconnected says nothing.
  await new Promise((r) => setTimeout(r, 6 * INTERVAL_MS));
  assert.deepEqual(w.discovery.addresses, ['127.0.0.1:4001']);
  await late.start();
  const ms = await until('reconnected', () => w.logs.filter((l) => l.startsWith('NATS connected')).length >= 2, 10_000);
  console.log(`router reconnected ${ms.toFixed(0)} ms after the restart`);
  // Heartbeats flow again: the member outlives several periods after reconnecting.
  await new Promise((r) => setTimeout(r, 6 * INTERVAL_MS));
  assert.deepEqual(w.discovery.addresses, ['127.0.0.1:4001']);
  assert.ok(!w.events.some((e) => e.startsWith('gone')), w.events.join('; '));
});

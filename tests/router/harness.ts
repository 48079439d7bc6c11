// Shared set-up for router tests: the real `tiny` model folder (its tokenizer and template), a
// fake coordinator, a router in this process on ephemeral ports, and small HTTP helpers that read
// JSON answers and SSE streams the way clients do.
import { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';
import { startRouter, type RunningRouter } from '../../router/router.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { FakeCoordinator } from './fake-coordinator.ts';

export const MODEL_DIR = makeModel({ preset: 'tiny' });
export const MODEL_NAME = 'm2-tiny';

let tokenizer: QwenTokenizer | undefined;
export function tinyTokenizer(): QwenTokenizer {
  tokenizer ??= QwenTokenizer.fromModelDir(MODEL_DIR);
  return tokenizer;
}

export interface Stack {
  fakes: FakeCoordinator[];
  fake: FakeCoordinator;
  router: RunningRouter;
  url: string;
  close(): Promise<void>;
}

export interface StackOptions {
  replicas?: number;
  maxBodyBytes?: number;
  /** Extra coordinator addresses (e.g. one nothing listens on). */
  extraCoordinators?: string[];
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const fakes = await Promise.all(Array.from({ length: options.replicas ?? 1 }, () => FakeCoordinator.start(tinyTokenizer())));
  const router = await startRouter({
    modelDir: MODEL_DIR,
    servedModelName: MODEL_NAME,
    coordinators: [...fakes.map((f) => f.address), ...(options.extraCoordinators ?? [])],
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    maxBodyBytes: options.maxBodyBytes ?? 1 << 20,
    timeouts: { statsIntervalMs: 100, statsTimeoutMs: 500, abortTimeoutMs: 500 },
  });
  return {
    fakes,
    fake: fakes[0]!,
    router,
    url: router.httpUrl,
    async close() {
      await router.shutdown(1000);
      for (const f of fakes) f.close();
    },
  };
}

/** Waits until `check` holds (polling), failing after `ms`. */
export async function waitFor(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  /** Loosely typed on purpose: tests read arbitrary OpenAI response shapes. */
  body: Record<string, any>;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as JsonAnswer['body'] };
}

export interface SseAnswer {
  status: number;
  /** Parsed `data:` events, in order (loosely typed, as above); `[DONE]` is reported as `done`. */
  events: Array<Record<string, any>>;
  done: boolean;
}

export function parseSse(text: string): { events: SseAnswer['events']; done: boolean } {
  const events: SseAnswer['events'] = [];
  let done = false;
  for (const block of text.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const data = block.slice('data: '.length);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

export async function postStream(url: string, body: unknown, headers: Record<string, string> = {}): Promise<SseAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return { status: res.status, events: [JSON.parse(text)], done: false };
  return { status: res.status, ...parseSse(text) };
}

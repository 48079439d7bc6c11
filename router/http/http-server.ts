// The router's HTTP front door on node:http: OpenAI-compatible endpoints plus /health (the process
// is alive), /ready (it can serve: not draining and a replica is ready) and /metrics (Prometheus).
// Bodies are read with a
// size limit, every failure is an OpenAI error body with its status, and a client that disconnects
// mid-request has its generation aborted upstream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeMetrics } from '../../coordinator/metrics/metrics-http.ts';
import { ApiError, toApiError } from '../api-error.ts';
import { chatCompletions } from '../openai/chat-completions.ts';
import { completions } from '../openai/completions.ts';
import type { EndpointContext, EndpointResult } from '../openai/openai-request.ts';
import type { RequestGateway } from '../request-gateway.ts';

type Endpoint = (body: unknown, ctx: EndpointContext) => Promise<EndpointResult>;

const POST_ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  ['/v1/chat/completions', chatCompletions],
  ['/v1/completions', completions],
]);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  const headers: Record<string, string> = err.retryAfterSeconds !== undefined ? { 'retry-after': String(err.retryAfterSeconds) } : {};
  sendJson(res, err.httpStatus, err.toBody(), headers);
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'invalid_request_error', `request body exceeds the limit of ${limit} bytes`, null, 'request_too_large');
}

/** Reads the whole body, refusing more than `limit` bytes (by header first, then by count). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // discard, so the client can finish sending and read the answer
      reject(tooLarge(limit));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > limit) reject(tooLarge(limit)); // the rest is read and dropped
      else parts.push(part);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'invalid_request_error', `the request body is not valid JSON: ${(err as Error).message}`, null, 'invalid_json');
  }
}

/** Writes SSE events; waits when the socket is backed up; keeps pulling after a disconnect so the run ends. */
async function writeEventStream(res: ServerResponse, events: AsyncIterable<unknown>): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  let first: IteratorResult<unknown>;
  try {
    first = await iterator.next();
  } catch (err) {
    sendError(res, toApiError(err));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const write = async (data: string): Promise<void> => {
    if (res.destroyed || res.writableEnded) return;
    if (!res.write(`data: ${data}\n\n`)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
  };
  try {
    for (let step = first; !step.done; step = await iterator.next()) await write(JSON.stringify(step.value));
  } catch (err) {
    await write(JSON.stringify(toApiError(err).toBody()));
  }
  await write('[DONE]');
  res.end();
}

export interface HttpServerOptions {
  maxBodyBytes: number;
}

export function createHttpServer(gateway: RequestGateway, options: HttpServerOptions): Server {
  const modelsBody = () => ({
    object: 'list',
    data: [{ id: gateway.model.name, object: 'model', created: 0, owned_by: 'm2-cluster', root: gateway.model.dir, max_model_len: gateway.maxModelLen }],
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/ready') {
      const status = gateway.draining ? 'draining' : gateway.ready ? 'ready' : 'no ready replica';
      const replicas = gateway.replicas.backends.map((b) => ({ address: b.address, ready: b.ready, load: b.load }));
      return sendJson(res, gateway.ready ? 200 : 503, { status, replicas });
    }
    if (req.method === 'GET' && path === '/metrics' && gateway.metrics) return writeMetrics(res, gateway.metrics.registry);
    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelsBody());
    const endpoint = POST_ENDPOINTS.get(path ?? '');
    if (!endpoint) throw new ApiError(404, 'not_found_error', `no route for ${req.method} ${path}`, null, 'unknown_route');
    if (req.method !== 'POST') throw new ApiError(405, 'invalid_request_error', `${path} takes POST`, null, 'method_not_allowed');
    const body = parseJson(await readBody(req, options.maxBodyBytes));
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    const result = await endpoint(body, { gateway, headers: req.headers, clientGone: clientGone.signal });
    if (result.kind === 'json') sendJson(res, 200, result.body);
    else await writeEventStream(res, result.events);
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const apiError = toApiError(err);
      if (apiError.httpStatus === 413) res.setHeader('connection', 'close');
      sendError(res, apiError);
    });
  });
}

// What the chat and completions endpoints share: the fields around the prompt (model, stream,
// stream_options, session id), OpenAI's usage object, and the result shape the HTTP server writes
// (a JSON body, or SSE events pulled lazily so that errors before the first token keep their
// HTTP status).
import type { IncomingHttpHeaders } from 'node:http';
import { badParam } from '../api-error.ts';
import type { GenerationRun, UsageCounts } from '../generation-run.ts';
import { ParamReader } from '../generation-params.ts';
import type { RequestGateway } from '../request-gateway.ts';

export interface JsonResult {
  kind: 'json';
  body: unknown;
}

export interface EventStreamResult {
  kind: 'sse';
  /** Each value is sent as one `data:` event; `[DONE]` follows the last. */
  events: AsyncIterable<unknown>;
}

export type EndpointResult = JsonResult | EventStreamResult;

export interface EndpointContext {
  gateway: RequestGateway;
  headers: IncomingHttpHeaders;
  /** Aborted when the client disconnects before the response is complete. */
  clientGone: AbortSignal;
}

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export interface CommonFields {
  params: ParamReader;
  stream: boolean;
  includeUsage: boolean;
  sessionId: string;
}

/** A request body must be a JSON object; its model must be the served one. */
export function readCommonFields(body: unknown, ctx: EndpointContext): CommonFields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badParam('body', 'the request body must be a JSON object', 'invalid_body');
  }
  const params = new ParamReader(body as Record<string, unknown>);
  ctx.gateway.checkModel(params.string('model'));
  const stream = params.boolean('stream') ?? false;
  const streamOptions = params.object('stream_options');
  const includeUsage = streamOptions?.include_usage ?? false;
  if (typeof includeUsage !== 'boolean') throw badParam('stream_options.include_usage', 'must be a boolean');
  const header = ctx.headers['x-session-id'];
  const sessionId = (Array.isArray(header) ? header[0] : header) ?? params.string('session_id') ?? '';
  return { params, stream, includeUsage: stream && includeUsage, sessionId };
}

export function openAiUsage(u: UsageCounts): OpenAiUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}

/** Cancels the run upstream when the client goes away mid-request. */
export function abortOnClientGone(run: GenerationRun, signal: AbortSignal): void {
  if (signal.aborted) run.abort('client_gone');
  else signal.addEventListener('abort', () => run.abort('client_gone'), { once: true });
}

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

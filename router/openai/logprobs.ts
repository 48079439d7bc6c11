// OpenAI's two logprobs shapes, built from the coordinator's sampled-token records: chat's
// `{content: [{token, logprob, bytes, top_logprobs}]}` and completions' parallel arrays
// (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`). Tokens are shown as their decoded
// text, with the exact UTF-8 bytes alongside (a token can hold part of a character).
import type { SampledToken__Output } from '../../proto/gen/m2/v1/SampledToken.ts';
import type { ServedModel } from '../served-model.ts';

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface ChatLogprobEntry extends ChatTokenLogprob {
  top_logprobs: ChatTokenLogprob[];
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>> | null;
  text_offset: number[];
}

export class TokenText {
  constructor(private readonly model: ServedModel) {}

  of(id: number): string {
    return this.model.tokenizer.decode([id]);
  }

  entry(id: number, logprob: number): ChatTokenLogprob {
    const token = this.of(id);
    return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
  }
}

export function chatLogprobs(text: TokenText, tokens: readonly SampledToken__Output[]): ChatLogprobEntry[] {
  return tokens.map((t) => ({ ...text.entry(t.tokenId, t.logprob), top_logprobs: t.topLogprobs.map((alt) => text.entry(alt.tokenId, alt.logprob)) }));
}

/** Completions logprobs of one choice's tokens; `offset` is the text length before them. */
export function completionLogprobs(text: TokenText, tokens: readonly SampledToken__Output[], offset: number, withTop: boolean): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: withTop ? [] : null, text_offset: [] };
  for (const t of tokens) {
    const token = text.of(t.tokenId);
    out.tokens.push(token);
    out.token_logprobs.push(t.logprob);
    out.text_offset.push(offset);
    offset += token.length;
    out.top_logprobs?.push(Object.fromEntries(t.topLogprobs.map((alt) => [text.of(alt.tokenId), alt.logprob])));
  }
  return out;
}

export function appendCompletionLogprobs(into: CompletionLogprobs, more: CompletionLogprobs): void {
  into.tokens.push(...more.tokens);
  into.token_logprobs.push(...more.token_logprobs);
  into.text_offset.push(...more.text_offset);
  if (into.top_logprobs && more.top_logprobs) into.top_logprobs.push(...more.top_logprobs);
}

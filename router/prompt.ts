// Prompt token ids from what clients send: chat messages (rendered with the model's template and
// the request's thinking mode), raw text, or token ids. The router tokenizes because it routes by
// prompt prefix and checks the context length before a replica sees the request.
import { resolveThinkingMode, type ThinkingRequest } from '../coordinator/text/chat-template.ts';
import { badParam, describe } from './api-error.ts';
import type { PromptInput } from './engine-request.ts';
import type { ServedModel } from './served-model.ts';

export interface ChatPromptRequest extends ThinkingRequest {
  messages: unknown;
  tools?: unknown;
}

/** The rendered chat prompt and its ids; TextErrors (bad messages, thinking mode) propagate. */
export function chatPrompt(model: ServedModel, req: ChatPromptRequest): PromptInput & { text: string } {
  const thinkingMode = resolveThinkingMode(req);
  const text = model.renderer.render(req.messages, { thinkingMode, tools: req.tools });
  // The template already wrote every special token the prompt needs.
  return { text, tokenIds: model.tokenizer.encode(text, { addSpecialTokens: false }), field: 'messages', thinkingMode };
}

/** A raw prompt: a string, a one-string array, or an array of token ids. */
export function rawPrompt(model: ServedModel, prompt: unknown, field: string): PromptInput {
  const single = Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : prompt;
  if (typeof single === 'string') return { tokenIds: model.tokenizer.encode(single), field, thinkingMode: null };
  if (Array.isArray(single) && single.every((id) => typeof id === 'number')) return { tokenIds: checkedIds(model, single, field), field, thinkingMode: null };
  if (Array.isArray(single) && single.length > 1 && single.every((p) => typeof p === 'string' || Array.isArray(p))) {
    throw badParam(field, 'batches of prompts are not supported; send one prompt per request');
  }
  throw badParam(field, `must be a string or an array of token ids, got ${describe(prompt)}`);
}

export function checkedIds(model: ServedModel, ids: readonly number[], field: string): number[] {
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 0 || id >= model.vocabSize) throw badParam(field, `token ids must be integers in [0, ${model.vocabSize}), got ${id}`);
  }
  return [...ids];
}

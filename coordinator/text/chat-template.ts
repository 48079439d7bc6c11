// Chat templating with M2 thinking control: our own template (written into tokenizer_config.json by
// `m2 make-model`), the request fields that choose on/off/auto, and a renderer that runs any
// checkpoint's template verbatim, giving it both `thinking_mode` and Qwen3's `enable_thinking`.
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { normalizeMessages, normalizeTools } from './chat-messages.ts';
import { TextError } from './errors.ts';
import type { TemplateSpecialTokens } from './tokenizer.ts';

/** Thinking-aware Qwen ChatML; the source lives in m2-chat-template.jinja so Python can render it too. */
export const M2_CHAT_TEMPLATE: string = readFileSync(new URL('./m2-chat-template.jinja', import.meta.url), 'utf8');

/** on: the prompt opens `<think>`; off: it holds an empty think block; auto: the model decides. */
export type ThinkingMode = 'on' | 'off' | 'auto';

/**
 * The mode when a request says nothing: M2's published results (and Baichuan's quick start) are
 * with thinking on, and an opened `<think>` makes the reasoning/content split unambiguous.
 */
export const DEFAULT_THINKING_MODE: ThinkingMode = 'on';

/** Accepts "on" | "off" | "auto" or a boolean (true = on, false = off). */
export function parseThinkingMode(value: unknown, field: string): ThinkingMode {
  if (value === true) return 'on';
  if (value === false) return 'off';
  if (value === 'on' || value === 'off' || value === 'auto') return value;
  throw new TextError('invalid_thinking_mode',
    `${field} must be "on", "off", "auto" or a boolean (got ${JSON.stringify(value) ?? String(value)})`, field);
}

function parseEnableThinking(value: unknown, field: string): ThinkingMode {
  if (typeof value !== 'boolean') {
    throw new TextError('invalid_thinking_mode', `${field} must be a boolean (got ${JSON.stringify(value) ?? String(value)})`, field);
  }
  return value ? 'on' : 'off';
}

export interface ThinkingRequest {
  thinking_mode?: unknown;
  enable_thinking?: unknown;
  chat_template_kwargs?: Record<string, unknown>;
}

/**
 * The request's thinking mode from `thinking_mode` / `enable_thinking`, each at the top level or in
 * `chat_template_kwargs` (null counts as absent). Fields that disagree are an error naming both;
 * none given means DEFAULT_THINKING_MODE.
 */
export function resolveThinkingMode(req: ThinkingRequest): ThinkingMode {
  const kwargs: unknown = req.chat_template_kwargs;
  if (kwargs !== undefined && kwargs !== null && (typeof kwargs !== 'object' || Array.isArray(kwargs))) {
    throw new TextError('invalid_thinking_mode', 'chat_template_kwargs must be an object', 'chat_template_kwargs');
  }
  const inner = (kwargs ?? {}) as Record<string, unknown>;
  const sources: Array<[string, unknown, (value: unknown, field: string) => ThinkingMode]> = [
    ['thinking_mode', req.thinking_mode, parseThinkingMode],
    ['chat_template_kwargs.thinking_mode', inner.thinking_mode, parseThinkingMode],
    ['enable_thinking', req.enable_thinking, parseEnableThinking],
    ['chat_template_kwargs.enable_thinking', inner.enable_thinking, parseEnableThinking],
  ];
  let chosen: { field: string; mode: ThinkingMode } | undefined;
  for (const [field, value, parse] of sources) {
    if (value === undefined || value === null) continue;
    const mode = parse(value, field);
    if (chosen && chosen.mode !== mode) {
      throw new TextError('conflicting_thinking_mode',
        `${chosen.field} asks for thinking "${chosen.mode}" but ${field} asks for "${mode}"`, field);
    }
    chosen ??= { field, mode };
  }
  return chosen?.mode ?? DEFAULT_THINKING_MODE;
}

export interface RenderOptions {
  thinkingMode: ThinkingMode;
  /** OpenAI function tools; validated, and left out of the template when empty. */
  tools?: unknown;
  /** Default true: end with the assistant header (plus the think prefix the mode asks for). */
  addGenerationPrompt?: boolean;
}

export class ChatRenderer {
  private readonly template: Template;

  /** Parses the template once; a syntax error is a TextError('template_error'). */
  constructor(templateSource: string, private readonly specialTokens: TemplateSpecialTokens = {}) {
    try {
      this.template = new Template(templateSource);
    } catch (err) {
      throw new TextError('template_error', `chat template does not parse: ${(err as Error).message}`);
    }
  }

  /** Validates `messages` (and tools) and renders the prompt text; throws TextError on bad input. */
  render(messages: unknown, options: RenderOptions): string {
    const variables: Record<string, unknown> = {
      ...this.specialTokens,
      messages: normalizeMessages(messages),
      add_generation_prompt: options.addGenerationPrompt ?? true,
      thinking_mode: parseThinkingMode(options.thinkingMode, 'thinkingMode'),
      // Qwen3-style templates only know enable_thinking; "auto" there is their default (true).
      enable_thinking: options.thinkingMode !== 'off',
    };
    if (options.tools !== undefined && options.tools !== null) {
      const tools = normalizeTools(options.tools);
      if (tools.length > 0) variables.tools = tools;
    }
    try {
      return this.template.render(variables);
    } catch (err) {
      throw new TextError('template_error', `chat template failed: ${(err as Error).message}`);
    }
  }
}

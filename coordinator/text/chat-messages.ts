// Validation of OpenAI-style chat messages and tools before templating: a request body is untrusted
// JSON, and a template fed a wrong shape fails with an unreadable jinja error (or renders garbage).
// Output is the plain shape every Qwen-family template expects (content always a string).
import { TextError } from './errors.ts';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatToolCall {
  id?: string;
  type: 'function';
  /** `arguments` is the JSON string OpenAI clients send, or an object (rendered with tojson). */
  function: { name: string; arguments: string | Record<string, unknown> };
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Assistant history: the reasoning of that turn, if the client kept it apart from content. */
  reasoning_content?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  name?: string;
}

/** A tool definition, passed to the template as given (Qwen renders each with tojson). */
export type ChatTool = Record<string, unknown>;

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'tool']);

function fail(field: string, message: string): never {
  throw new TextError('invalid_messages', `${field}: ${message}`, field);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string, or an array of text parts joined with newlines (as vLLM joins them). */
function contentText(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) fail(field, 'must be a string or an array of text parts');
  return value.map((part, i) => {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
      fail(`${field}[${i}]`, 'only {"type": "text", "text": string} parts are supported');
    }
    return part.text;
  }).join('\n');
}

function toolCall(value: unknown, field: string): ChatToolCall {
  if (!isObject(value)) fail(field, 'must be an object');
  if (value.type !== undefined && value.type !== 'function') fail(`${field}.type`, 'must be "function"');
  const fn = value.function;
  if (!isObject(fn)) fail(`${field}.function`, 'must be an object');
  if (typeof fn.name !== 'string' || fn.name === '') fail(`${field}.function.name`, 'must be a non-empty string');
  const args = fn.arguments ?? {};
  if (typeof args !== 'string' && !isObject(args)) fail(`${field}.function.arguments`, 'must be a JSON string or an object');
  const call: ChatToolCall = { type: 'function', function: { name: fn.name, arguments: args } };
  if (value.id !== undefined) {
    if (typeof value.id !== 'string') fail(`${field}.id`, 'must be a string');
    call.id = value.id;
  }
  return call;
}

function optionalString(message: Record<string, unknown>, key: string, field: string): string | undefined {
  const value = message[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${field}.${key}`, 'must be a string');
  return value;
}

function chatMessage(value: unknown, field: string): ChatMessage {
  if (!isObject(value)) fail(field, 'must be an object with role and content');
  // OpenAI's "developer" role is its newer name for system instructions.
  const role = value.role === 'developer' ? 'system' : value.role;
  if (typeof role !== 'string' || !ROLES.has(role)) {
    fail(`${field}.role`, `must be one of system, developer, user, assistant, tool (got ${JSON.stringify(value.role)})`);
  }
  const message: ChatMessage = { role: role as ChatRole, content: '' };
  if (value.tool_calls !== undefined && value.tool_calls !== null) {
    if (role !== 'assistant') fail(`${field}.tool_calls`, 'only assistant messages carry tool calls');
    if (!Array.isArray(value.tool_calls)) fail(`${field}.tool_calls`, 'must be an array');
    message.tool_calls = value.tool_calls.map((call, i) => toolCall(call, `${field}.tool_calls[${i}]`));
  }
  if (value.content === undefined || value.content === null) {
    if (!message.tool_calls) fail(`${field}.content`, 'is required (it may be null only with tool_calls)');
  } else {
    message.content = contentText(value.content, `${field}.content`);
  }
  const reasoning = optionalString(value, 'reasoning_content', field);
  if (reasoning !== undefined) {
    if (role !== 'assistant') fail(`${field}.reasoning_content`, 'only assistant messages carry reasoning');
    message.reasoning_content = reasoning;
  }
  const toolCallId = optionalString(value, 'tool_call_id', field);
  if (toolCallId !== undefined) message.tool_call_id = toolCallId;
  const name = optionalString(value, 'name', field);
  if (name !== undefined) message.name = name;
  return message;
}

/** Validates request messages; throws TextError('invalid_messages') naming the bad field. */
export function normalizeMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) fail('messages', 'must be a non-empty array');
  return value.map((message, i) => chatMessage(message, `messages[${i}]`));
}

/** Validates request tools: OpenAI function tools, `{type: "function", function: {name, ...}}`. */
export function normalizeTools(value: unknown): ChatTool[] {
  if (!Array.isArray(value)) throw new TextError('invalid_tools', 'tools: must be an array', 'tools');
  return value.map((tool, i) => {
    const field = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function) || typeof tool.function.name !== 'string') {
      throw new TextError('invalid_tools', `${field}: must be {"type": "function", "function": {"name": string, ...}}`, field);
    }
    return tool;
  });
}

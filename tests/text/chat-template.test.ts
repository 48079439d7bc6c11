// Chat templating: parity with transformers' jinja2 (template_cases.json from make_fixture.py),
// thinking control in every accepted form, tools, and rejection of bad requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import {
  ChatRenderer, DEFAULT_THINKING_MODE, M2_CHAT_TEMPLATE, parseThinkingMode, resolveThinkingMode,
} from '../../coordinator/text/chat-template.ts';
import { TextError } from '../../coordinator/text/errors.ts';
import { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';

interface TemplateCase {
  template: 'm2' | 'bundled';
  conversation: string;
  variables: Record<string, unknown>;
  rendered: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/tokenizer/template_cases.json', import.meta.url), 'utf8')) as
  { conversations: Record<string, unknown[]>; cases: TemplateCase[] };
const bundledConfig = JSON.parse(readFileSync(`${QwenTokenizer.bundledFilesDir()}/tokenizer_config.json`, 'utf8')) as
  { chat_template: string };
const sources = { m2: M2_CHAT_TEMPLATE, bundled: bundledConfig.chat_template };

const renderer = new ChatRenderer(M2_CHAT_TEMPLATE);
const user = [{ role: 'user', content: 'Fever of 39 °C for two days?' }];

function isTextError(code: string, field?: string): (e: unknown) => boolean {
  return (e) => e instanceof TextError && e.code === code && (field === undefined || e.field === field);
}

test('@huggingface/jinja renders exactly what transformers (jinja2) renders, M2 and bundled Qwen3 templates', () => {
  assert.ok(fixture.cases.length >= 20);
  for (const c of fixture.cases) {
    const rendered = new Template(sources[c.template]).render({ messages: fixture.conversations[c.conversation], ...c.variables });
    assert.equal(rendered, c.rendered, `${c.template} / ${c.conversation} / ${JSON.stringify(c.variables)}`);
  }
});

test('ChatRenderer passes thinking_mode and enable_thinking as the fixture renders did', () => {
  const viaRenderer = fixture.cases.filter((c) => typeof c.variables.thinking_mode === 'string' && 'enable_thinking' in c.variables);
  assert.ok(viaRenderer.length >= 10);
  for (const c of viaRenderer) {
    const own = new ChatRenderer(sources[c.template]);
    const rendered = own.render(fixture.conversations[c.conversation], {
      thinkingMode: parseThinkingMode(c.variables.thinking_mode, 'thinking_mode'),
      tools: c.variables.tools,
      addGenerationPrompt: c.variables.add_generation_prompt as boolean,
    });
    assert.equal(rendered, c.rendered, `${c.template} / ${c.conversation}`);
  }
});

test('generation prompt per thinking mode', () => {
  const header = '<|im_start|>user\nFever of 39 °C for two days?<|im_end|>\n<|im_start|>assistant\n';
  assert.equal(renderer.render(user, { thinkingMode: 'on' }), `${header}<think>\n`);
  assert.equal(renderer.render(user, { thinkingMode: 'off' }), `${header}<think>\n\n</think>\n\n`);
  assert.equal(renderer.render(user, { thinkingMode: 'auto' }), header);
  assert.equal(renderer.render(user, { thinkingMode: 'auto', addGenerationPrompt: false }), header.slice(0, -'<|im_start|>assistant\n'.length));
});

test('thinking mode from the request: strings, booleans, alias, chat_template_kwargs, default', () => {
  assert.equal(resolveThinkingMode({}), DEFAULT_THINKING_MODE);
  assert.equal(DEFAULT_THINKING_MODE, 'on');
  assert.equal(resolveThinkingMode({ thinking_mode: 'off' }), 'off');
  assert.equal(resolveThinkingMode({ thinking_mode: 'auto' }), 'auto');
  assert.equal(resolveThinkingMode({ thinking_mode: true }), 'on');
  assert.equal(resolveThinkingMode({ thinking_mode: false }), 'off');
  assert.equal(resolveThinkingMode({ enable_thinking: false }), 'off');
  assert.equal(resolveThinkingMode({ enable_thinking: true }), 'on');
  assert.equal(resolveThinkingMode({ chat_template_kwargs: { thinking_mode: 'auto' } }), 'auto');
  assert.equal(resolveThinkingMode({ chat_template_kwargs: { enable_thinking: false } }), 'off');
  assert.equal(resolveThinkingMode({ thinking_mode: null, chat_template_kwargs: { thinking_mode: 'off' } }), 'off');
  // Agreeing fields are fine.
  assert.equal(resolveThinkingMode({ thinking_mode: 'off', enable_thinking: false, chat_template_kwargs: { thinking_mode: false } }), 'off');
});

test('bad and conflicting thinking fields are errors naming the field', () => {
  assert.throws(() => parseThinkingMode('maybe', 'thinking_mode'), isTextError('invalid_thinking_mode', 'thinking_mode'));
  assert.throws(() => resolveThinkingMode({ thinking_mode: 'ON ' }), /thinking_mode must be "on", "off", "auto" or a boolean/);
  assert.throws(() => resolveThinkingMode({ thinking_mode: 1 }), isTextError('invalid_thinking_mode', 'thinking_mode'));
  assert.throws(() => resolveThinkingMode({ enable_thinking: 'off' }), isTextError('invalid_thinking_mode', 'enable_thinking'));
  assert.throws(() => resolveThinkingMode({ chat_template_kwargs: { thinking_mode: [] } }),
    isTextError('invalid_thinking_mode', 'chat_template_kwargs.thinking_mode'));
  assert.throws(() => resolveThinkingMode({ chat_template_kwargs: 'x' as unknown as Record<string, unknown> }),
    isTextError('invalid_thinking_mode', 'chat_template_kwargs'));
  assert.throws(() => resolveThinkingMode({ thinking_mode: 'on', enable_thinking: false }),
    (e: unknown) => isTextError('conflicting_thinking_mode', 'enable_thinking')(e) && /thinking_mode.*"on".*enable_thinking.*"off"/.test((e as Error).message));
  assert.throws(() => resolveThinkingMode({ thinking_mode: 'auto', chat_template_kwargs: { thinking_mode: 'on' } }),
    isTextError('conflicting_thinking_mode', 'chat_template_kwargs.thinking_mode'));
  assert.throws(() => renderer.render(user, { thinkingMode: 'sometimes' as 'on' }), isTextError('invalid_thinking_mode'));
});

test('tools block, content parts, developer role, tool calls with null content', () => {
  const tools = [{ type: 'function', function: { name: 'lookup_drug', description: '药物查询', parameters: { type: 'object' } } }];
  const rendered = renderer.render([
    { role: 'developer', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'Dose of' }, { type: 'text', text: 'ibuprofen?' }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup_drug', arguments: '{"name": "ibuprofen"}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: '{"max_daily_mg": 1200}' },
  ], { thinkingMode: 'auto', tools });
  assert.ok(rendered.startsWith('<|im_start|>system\nBe brief.\n\n# Tools\n'));
  assert.ok(rendered.includes('{"type": "function", "function": {"name": "lookup_drug", "description": "药物查询", "parameters": {"type": "object"}}}'));
  assert.ok(rendered.includes('<|im_start|>user\nDose of\nibuprofen?<|im_end|>'));
  assert.ok(rendered.includes('<tool_call>\n{"name": "lookup_drug", "arguments": {"name": "ibuprofen"}}\n</tool_call><|im_end|>'));
  assert.ok(rendered.endsWith('<tool_response>\n{"max_daily_mg": 1200}\n</tool_response><|im_end|>\n<|im_start|>assistant\n'));
  assert.equal(renderer.render(user, { thinkingMode: 'auto', tools: [] }), renderer.render(user, { thinkingMode: 'auto' }));
});

test('assistant history: reasoning stripped before the last user turn', () => {
  const rendered = renderer.render([
    { role: 'user', content: 'Q1' },
    { role: 'assistant', content: '<think>\nprivate reasoning\n</think>\n\nA1' },
    { role: 'user', content: 'Q2' },
  ], { thinkingMode: 'on' });
  assert.ok(!rendered.includes('private reasoning'));
  assert.ok(rendered.includes('<|im_start|>assistant\nA1<|im_end|>'));
});

test('bad messages and tools are errors naming the field', () => {
  const bad: Array<[unknown, string]> = [
    [[], 'messages'],
    ['hello', 'messages'],
    [[{ role: 'robot', content: 'x' }], 'messages[0].role'],
    [[{ content: 'x' }], 'messages[0].role'],
    [[{ role: 'user' }], 'messages[0].content'],
    [[{ role: 'user', content: 5 }], 'messages[0].content'],
    [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }], 'messages[0].content[0]'],
    [[{ role: 'user', content: 'x' }, null], 'messages[1]'],
    [[{ role: 'user', content: 'x', tool_calls: [] }], 'messages[0].tool_calls'],
    [[{ role: 'assistant', content: null, tool_calls: [{ function: { arguments: '{}' } }] }], 'messages[0].tool_calls[0].function.name'],
    [[{ role: 'assistant', content: 'x', tool_calls: [{ function: { name: 'f', arguments: 3 } }] }], 'messages[0].tool_calls[0].function.arguments'],
    [[{ role: 'user', content: 'x', reasoning_content: 'r' }], 'messages[0].reasoning_content'],
    [[{ role: 'assistant', content: 'x', reasoning_content: 7 }], 'messages[0].reasoning_content'],
  ];
  for (const [messages, field] of bad) {
    assert.throws(() => renderer.render(messages, { thinkingMode: 'on' }), isTextError('invalid_messages', field), JSON.stringify(messages));
  }
  assert.throws(() => renderer.render(user, { thinkingMode: 'on', tools: {} }), isTextError('invalid_tools', 'tools'));
  assert.throws(() => renderer.render(user, { thinkingMode: 'on', tools: [{ name: 'f' }] }), isTextError('invalid_tools', 'tools[0]'));
});

test('template syntax and render errors become TextError', () => {
  assert.throws(() => new ChatRenderer('{% if %}'), isTextError('template_error'));
  const raising = new ChatRenderer("{{ raise_exception('roles must alternate') }}");
  assert.throws(() => raising.render(user, { thinkingMode: 'on' }), (e: unknown) => isTextError('template_error')(e) && /roles must alternate/.test((e as Error).message));
});

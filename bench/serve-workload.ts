// The requests `npm run bench:serve` sends, and one streamed request measured as a client sees
// it. Two workloads: `fixed` (token-id prompts of an exact length to /v1/completions, exactly
// --output tokens each with ignore_eos) and `realistic` (chat sessions with a session id: a long
// medical case first, then follow-up turns that carry the whole conversation, varied output
// lengths). Everything is drawn from a seeded generator, so runs are comparable.
import { seededRandom } from '../tests/helpers/seeded-random.ts';

export interface BenchRequest {
  path: '/v1/completions' | '/v1/chat/completions';
  body: Record<string, unknown>;
  sessionId?: string;
}

export interface RequestTiming {
  ok: boolean;
  error?: string;
  ttftS: number;
  /** Gaps between successive streamed chunks after the first. */
  itlS: number[];
  completionTokens: number;
  promptTokens: number;
  cachedTokens: number;
}


export function fixedRequest(stream: number, round: number, promptTokens: number, outputTokens: number, vocab: number): BenchRequest {
  // Distinct prompts per request: no prefix-cache hits inflate the fixed workload.
  const rand = seededRandom(stream * 10_007 + round);
  const prompt = Array.from({ length: promptTokens }, () => 1000 + Math.floor(rand() * (vocab - 2000)));
  return { path: '/v1/completions', body: { prompt, max_tokens: outputTokens, ignore_eos: true, temperature: 0 } };
}

const HISTORY = [
  'has type 2 diabetes treated with metformin for nine years',
  'reports hypertension controlled with lisinopril and amlodipine',
  'had a myocardial infarction four years ago with a drug-eluting stent in the LAD',
  'smokes twenty cigarettes a day and drinks alcohol on weekends',
  'has chronic kidney disease stage 3a with an eGFR of 52',
  'takes apixaban for paroxysmal atrial fibrillation',
  'was treated for community-acquired pneumonia last winter',
  'has a penicillin allergy with hives as the reaction',
];
const FINDINGS = [
  'temperature 38.4 C, heart rate 112, blood pressure 96/60, respiratory rate 24, SpO2 91% on room air',
  'crackles at the right lung base and dullness to percussion',
  'lactate 3.1 mmol/L, white cell count 17.2, CRP 214 mg/L, creatinine 168 umol/L',
  'ECG shows sinus tachycardia without ST changes; troponin is mildly raised at 38 ng/L',
  'chest X-ray shows right lower lobe consolidation with a small effusion',
  'urine output has been below 0.5 mL/kg/h for six hours',
];
const QUESTIONS = [
  'What is the most likely diagnosis and how severe is it?',
  'Which antibiotics would you start, given the allergy and the kidney function?',
  'How much fluid should be given, and how do we judge the response?',
  'Should the anticoagulant be continued?',
  'What are the criteria for ICU referral here?',
  'What should be monitored over the next 24 hours?',
];

function pick<T>(rand: () => number, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]);
  return out;
}

/** A long case presentation (roughly 400-700 tokens). */
function medicalCase(rand: () => number): string {
  const age = 40 + Math.floor(rand() * 45);
  const sex = rand() < 0.5 ? 'woman' : 'man';
  const parts = [
    `A ${age}-year-old ${sex} presents to the emergency department with three days of fever, productive cough and increasing breathlessness.`,
    ...pick(rand, HISTORY, 4).map((h) => `The patient ${h}.`),
    ...pick(rand, FINDINGS, 4).map((f) => `On assessment: ${f}.`),
    'Medications on admission are listed in the referral letter; no recent travel; lives alone and was independent until last week.',
  ];
  return Array.from({ length: 3 }, () => parts.join(' ')).join('\n\n');
}

const SYSTEM = 'You are a clinical decision-support assistant for emergency physicians. Answer precisely, state uncertainty, and follow current sepsis and pneumonia guidelines.';

/** A session's turns: the case, then follow-up questions; each turn sends the whole conversation. */
export function realisticSession(stream: number, turns: number): (turn: number, previousAnswer: string) => BenchRequest {
  const rand = seededRandom(7919 * (stream + 1));
  const messages: { role: string; content: string }[] = [{ role: 'system', content: SYSTEM }];
  const questions = pick(rand, QUESTIONS, turns);
  const caseText = medicalCase(rand);
  const sessionId = `bench-session-${stream}`;
  return (turn, previousAnswer) => {
    if (turn > 0) messages.push({ role: 'assistant', content: previousAnswer });
    messages.push({ role: 'user', content: turn === 0 ? `${caseText}\n\n${questions[0]}` : questions[turn % questions.length] });
    const maxTokens = 32 + Math.floor(rand() * 96);
    return { path: '/v1/chat/completions', sessionId, body: { messages: [...messages], max_tokens: maxTokens, ignore_eos: true, temperature: 0.7, seed: stream, thinking_mode: 'off' } };
  };
}

interface StreamChunk {
  choices?: { text?: string; delta?: { content?: string | null } }[];
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens: number } } | null;
  error?: { message: string };
}

/** Sends one streamed request and times it; the text it produced is returned for the next turn. */
export async function timedRequest(url: string, req: BenchRequest): Promise<RequestTiming & { text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (req.sessionId) headers['x-session-id'] = req.sessionId;
  const started = performance.now();
  const failed = (error: string) => ({ ok: false, error, ttftS: 0, itlS: [], completionTokens: 0, promptTokens: 0, cachedTokens: 0, text: '' });
  let res: Response;
  try {
    res = await fetch(`${url}${req.path}`, { method: 'POST', headers, body: JSON.stringify({ ...req.body, stream: true, stream_options: { include_usage: true } }) });
  } catch (err) {
    return failed((err as Error).message);
  }
  if (res.status !== 200 || !res.body) return failed(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  let first: number | undefined;
  let last = 0;
  const itlS: number[] = [];
  let text = '';
  let usage: StreamChunk['usage'];
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const bytes of res.body) {
    buffered += decoder.decode(bytes, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6)) as StreamChunk;
      if (chunk.error) return failed(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices?.map((c) => c.text ?? c.delta?.content ?? '').join('') ?? '';
      if (delta === '') continue;
      const now = performance.now();
      if (first === undefined) first = now;
      else itlS.push((now - last) / 1000);
      last = now;
      text += delta;
    }
  }
  if (!usage || first === undefined) return failed('the stream ended without tokens or usage');
  return {
    ok: true,
    ttftS: (first - started) / 1000,
    itlS,
    completionTokens: usage.completion_tokens,
    promptTokens: usage.prompt_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    text,
  };
}

// m2.v1.GenerateService, the public gRPC API: the same gateway, validation and reasoning split as
// the HTTP endpoints, with GenerationParams mapped to their OpenAI names first so both APIs
// accept and refuse exactly the same values (INVALID_ARGUMENT names the field).
import type * as grpc from '@grpc/grpc-js';
import type { ThinkingRequest } from '../../coordinator/text/chat-template.ts';
import type { ChatInput__Output } from '../../proto/gen/m2/v1/ChatInput.ts';
import type { GenerateRequest__Output } from '../../proto/gen/m2/v1/GenerateRequest.ts';
import type { GenerateResponse } from '../../proto/gen/m2/v1/GenerateResponse.ts';
import type { GenerateServiceHandlers } from '../../proto/gen/m2/v1/GenerateService.ts';
import type { GenerationParams__Output } from '../../proto/gen/m2/v1/GenerationParams.ts';
import type { SampledTokenInfo } from '../../proto/gen/m2/v1/SampledTokenInfo.ts';
import { ApiError, badParam, toApiError } from '../api-error.ts';
import type { PromptInput } from '../engine-request.ts';
import { parseChatLogprobs, parseGenerationOptions, ParamReader } from '../generation-params.ts';
import type { ChoiceUpdate } from '../generation-run.ts';
import { TokenText } from '../openai/logprobs.ts';
import { chatPrompt, checkedIds, rawPrompt } from '../prompt.ts';
import { newRequestId, type RequestGateway } from '../request-gateway.ts';

function grpcError(err: unknown): Partial<grpc.StatusObject> {
  const apiError = toApiError(err);
  return { code: apiError.grpcCode, details: apiError.message };
}

/** Proto3 cannot tell "unset" from zero for plain fields; the `optional` ones can. */
function paramsAsOpenAi(p: GenerationParams__Output | null): Record<string, unknown> {
  if (!p) return {};
  return {
    n: p.n,
    max_tokens: p.maxTokens,
    min_tokens: p.minTokens,
    temperature: p.temperature,
    top_p: p.topP,
    top_k: p.topK,
    min_p: p.minP,
    repetition_penalty: p.repetitionPenalty,
    presence_penalty: p.presencePenalty,
    frequency_penalty: p.frequencyPenalty,
    seed: p.seed,
    stop: p.stop,
    stop_token_ids: p.stopTokenIds,
    ignore_eos: p.ignoreEos,
    logit_bias: p.logitBias,
    logprobs: p.logprobs,
    top_logprobs: p.topLogprobs,
    skip_special_tokens: !p.includeSpecialTokens,
  };
}

function thinkingOf(chat: ChatInput__Output): ThinkingRequest {
  const mode = chat.thinkingMode;
  if (mode === '') return {};
  return { thinking_mode: mode === 'true' ? true : mode === 'false' ? false : mode };
}

function chatRequest(chat: ChatInput__Output) {
  let tools: unknown;
  if (chat.toolsJson !== '') {
    try {
      tools = JSON.parse(chat.toolsJson);
    } catch (err) {
      throw badParam('chat.tools_json', `is not valid JSON: ${(err as Error).message}`);
    }
  }
  const messages = chat.messages.map((m) => ({
    role: m.role,
    content: m.content,
    ...(m.reasoningContent !== '' ? { reasoning_content: m.reasoningContent } : {}),
    ...(m.toolCallId !== '' ? { tool_call_id: m.toolCallId } : {}),
    ...(m.name !== '' ? { name: m.name } : {}),
  }));
  return { messages, tools, ...thinkingOf(chat) };
}

function promptOf(gateway: RequestGateway, req: GenerateRequest__Output): PromptInput {
  switch (req.input) {
    case 'text': return rawPrompt(gateway.model, req.text ?? '', 'text');
    case 'tokenIds': return { tokenIds: checkedIds(gateway.model, req.tokenIds?.ids ?? [], 'token_ids'), field: 'token_ids', thinkingMode: null };
    case 'chat': return chatPrompt(gateway.model, chatRequest(req.chat!));
    default: throw badParam('input', 'one of text, chat or token_ids is required');
  }
}

function choiceMessage(c: ChoiceUpdate, tokenText: TokenText) {
  return {
    index: c.index,
    tokenIds: c.tokenIds,
    content: c.content,
    reasoningContent: c.reasoning,
    finishReason: c.finishReason ?? '',
    logprobs: c.logprobs.map((t): SampledTokenInfo => ({
      tokenId: t.tokenId,
      token: tokenText.of(t.tokenId),
      logprob: t.logprob,
      topLogprobs: t.topLogprobs.map((alt) => ({ tokenId: alt.tokenId, token: tokenText.of(alt.tokenId), logprob: alt.logprob })),
    })),
  };
}

export function generateServiceHandlers(gateway: RequestGateway): GenerateServiceHandlers {
  const tokenText = new TokenText(gateway.model);

  async function generate(call: grpc.ServerWritableStream<GenerateRequest__Output, GenerateResponse>): Promise<void> {
    const req = call.request;
    gateway.checkModel(req.model);
    const prompt = promptOf(gateway, req);
    const reader = new ParamReader(paramsAsOpenAi(req.params));
    const options = parseGenerationOptions(reader, gateway.model.samplingDefaults, gateway.model.vocabSize, parseChatLogprobs(reader));
    const requestId = req.requestId || newRequestId('gen');
    const run = gateway.open(requestId, req.sessionId, prompt, options);
    call.on('cancelled', () => run.abort('client_gone'));
    for await (const update of gateway.stream(run)) {
      const message: GenerateResponse = { requestId, choices: update.choices.map((c) => choiceMessage(c, tokenText)) };
      if (update.usage) message.usage = update.usage;
      if (!call.write(message)) {
        await new Promise<void>((resolve) => {
          call.once('drain', resolve);
          call.once('cancelled', resolve);
        });
      }
    }
    call.end();
  }

  /** Runs a unary handler body, turning any throw into the matching gRPC status. */
  function unary<Req, Res>(body: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      try {
        callback(null, body(call.request));
      } catch (err) {
        callback(grpcError(err));
      }
    };
  }

  return {
    Generate: (call) => {
      generate(call).catch((err: unknown) => call.emit('error', grpcError(err)));
    },
    Tokenize: unary((req) => {
      gateway.checkModel(req.model);
      if (req.input === 'chat') {
        const { text, tokenIds } = chatPrompt(gateway.model, chatRequest(req.chat!));
        return { text, tokenIds };
      }
      if (req.input !== 'text') throw badParam('input', 'one of text or chat is required');
      return { text: req.text, tokenIds: gateway.model.tokenizer.encode(req.text ?? '', { addSpecialTokens: req.addSpecialTokens }) };
    }),
    Detokenize: unary((req) => {
      gateway.checkModel(req.model);
      const ids = checkedIds(gateway.model, req.tokenIds, 'token_ids');
      return { text: gateway.model.tokenizer.decode(ids, { skipSpecialTokens: req.skipSpecialTokens }) };
    }),
    ModelInfo: unary(() => ({
      model: gateway.model.name,
      maxModelLen: gateway.maxModelLen,
      vocabSize: gateway.model.vocabSize,
      replicas: gateway.replicas.backends.length,
      dtype: gateway.model.dtypeLabel,
    })),
    Abort: unary((req) => {
      if (req.requestId === '') throw new ApiError(400, 'invalid_request_error', 'request_id is required', 'request_id');
      return { found: gateway.abort(req.requestId) };
    }),
  };
}

// Original file: proto/m2/v1/generate.proto

import type { ChatInput as _m2_v1_ChatInput, ChatInput__Output as _m2_v1_ChatInput__Output } from '../../m2/v1/ChatInput.ts';

export interface TokenizeRequest {
  'model'?: (string);
  'text'?: (string);
  /**
   * Tokenizes the rendered chat prompt.
   */
  'chat'?: (_m2_v1_ChatInput | null);
  'addSpecialTokens'?: (boolean);
  'input'?: "text"|"chat";
}

export interface TokenizeRequest__Output {
  'model': (string);
  'text'?: (string);
  /**
   * Tokenizes the rendered chat prompt.
   */
  'chat'?: (_m2_v1_ChatInput__Output | null);
  'addSpecialTokens': (boolean);
  'input'?: "text"|"chat";
}

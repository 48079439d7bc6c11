// Original file: proto/m2/v1/generate.proto

import type { ChatMessage as _m2_v1_ChatMessage, ChatMessage__Output as _m2_v1_ChatMessage__Output } from '../../m2/v1/ChatMessage.ts';

export interface ChatInput {
  'messages'?: (_m2_v1_ChatMessage)[];
  /**
   * "on", "off" or "auto" (default). "true"/"false" are accepted as on/off.
   */
  'thinkingMode'?: (string);
  /**
   * Tools in OpenAI JSON format (a JSON array as text), rendered by the chat template.
   */
  'toolsJson'?: (string);
}

export interface ChatInput__Output {
  'messages': (_m2_v1_ChatMessage__Output)[];
  /**
   * "on", "off" or "auto" (default). "true"/"false" are accepted as on/off.
   */
  'thinkingMode': (string);
  /**
   * Tools in OpenAI JSON format (a JSON array as text), rendered by the chat template.
   */
  'toolsJson': (string);
}

// Original file: proto/m2/v1/generate.proto


/**
 * One chat message. Content is plain text.
 */
export interface ChatMessage {
  /**
   * "system", "user", "assistant" or "tool".
   */
  'role'?: (string);
  'content'?: (string);
  /**
   * Assistant history may carry its reasoning; the template decides whether it is kept.
   */
  'reasoningContent'?: (string);
  /**
   * Tool call id, for role "tool".
   */
  'toolCallId'?: (string);
  'name'?: (string);
}

/**
 * One chat message. Content is plain text.
 */
export interface ChatMessage__Output {
  /**
   * "system", "user", "assistant" or "tool".
   */
  'role': (string);
  'content': (string);
  /**
   * Assistant history may carry its reasoning; the template decides whether it is kept.
   */
  'reasoningContent': (string);
  /**
   * Tool call id, for role "tool".
   */
  'toolCallId': (string);
  'name': (string);
}

// One error type for everything the text layer rejects (tokenizer files, token ids, chat requests),
// so the router can map it to a 400 (or a start-up failure) with a stable code and the field at fault.

export type TextErrorCode =
  | 'tokenizer_files'
  | 'invalid_token_id'
  | 'invalid_thinking_mode'
  | 'conflicting_thinking_mode'
  | 'invalid_messages'
  | 'invalid_tools'
  | 'template_error';

export class TextError extends Error {
  readonly code: TextErrorCode;
  /** The request field (or file) the error is about, when there is one. */
  readonly field: string | undefined;

  constructor(code: TextErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'TextError';
    this.code = code;
    this.field = field;
  }
}

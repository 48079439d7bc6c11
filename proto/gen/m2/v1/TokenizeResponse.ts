// Original file: proto/m2/v1/generate.proto


export interface TokenizeResponse {
  'tokenIds'?: (number)[];
  /**
   * The text that was tokenized (the rendered prompt for chat input).
   */
  'text'?: (string);
}

export interface TokenizeResponse__Output {
  'tokenIds': (number)[];
  /**
   * The text that was tokenized (the rendered prompt for chat input).
   */
  'text': (string);
}

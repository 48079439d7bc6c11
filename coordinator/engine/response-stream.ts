// The per-request stream of updates: the engine pushes as steps complete, one consumer pulls with
// `for await`. Items are buffered (they are small) so a slow consumer never stalls the step loop.
// A consumer that stops early (break, return, a dropped gRPC call) cancels the request.

export class ResponseStream<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private ended = false;
  private error: Error | null = null;
  private wakeConsumer: (() => void) | null = null;
  private iterated = false;

  /** `onCancel` runs when the consumer stops before the stream ended. */
  constructor(private readonly onCancel: () => void) {}

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    this.buffer.push(item);
    this.wake();
  }

  /** Ends the stream after the buffered items. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Ends the stream: buffered items are delivered, then the consumer's next() rejects with `error`. */
  fail(error: Error): void {
    if (this.ended) return;
    this.error = error;
    this.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error('ResponseStream can be iterated only once');
    this.iterated = true;
    return {
      next: async (): Promise<IteratorResult<T>> => {
        while (this.buffer.length === 0 && !this.ended) {
          await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
        }
        const item = this.buffer.shift();
        if (item !== undefined) return { value: item, done: false };
        if (this.error !== null) throw this.error;
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<T>> => {
        if (!this.ended) {
          this.ended = true;
          this.onCancel();
        }
        this.buffer.length = 0;
        return { value: undefined, done: true };
      },
    };
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }
}

/** One Server-Sent Event as a browser's EventSource would see it. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * A small EventSource-like client over fetch (Node has no EventSource): parses `id:`, `event:`,
 * `data:` and comment lines as the WHATWG spec says, keeps every message and comment, and lets a
 * test wait for the next one that matches.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  ended = false;
  /** Why the stream broke, if the connection dropped rather than ended. */
  failure: unknown;
  /** Resolves when the server ends the response (or the client aborts). */
  readonly done: Promise<void>;
  private cursor = 0;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {
    this.done = this.read();
  }

  /** Opens a stream; resolves once the response headers arrived (for any status). */
  static async connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const controller = new AbortController();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    return new SseClient(response, controller);
  }

  get status(): number {
    return this.response.status;
  }

  /** The id of the last message that had one (what a browser sends as Last-Event-ID). */
  get lastEventId(): string | undefined {
    return this.messages.findLast((message) => message.id !== undefined)?.id;
  }

  /** The next message (after those already returned) matching `predicate`; fails if the stream ends first. */
  async next(predicate: (message: SseMessage) => boolean = () => true): Promise<SseMessage> {
    for (;;) {
      while (this.cursor < this.messages.length) {
        const message = this.messages[this.cursor++] as SseMessage;
        if (predicate(message)) return message;
      }
      if (this.ended) throw new Error('the stream ended without a matching message');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * The first message of the whole stream matching `predicate`, already received or still to come
   * (for events from independent listeners, whose relative order is not defined).
   */
  async find(predicate: (message: SseMessage) => boolean): Promise<SseMessage> {
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (this.ended) throw new Error('the stream ended without a matching message');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits for the next comment line (e.g. keep-alive). */
  async nextComment(): Promise<string> {
    const seen = this.comments.length;
    while (this.comments.length === seen) {
      if (this.ended) throw new Error('the stream ended without a comment');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.comments[seen] as string;
  }

  /** Disconnects, as a closed browser tab would. */
  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }

  private async read(): Promise<void> {
    const body = this.response.body;
    if (!body || !this.response.headers.get('content-type')?.startsWith('text/event-stream')) {
      this.ended = true;
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    let id: string | undefined;
    let event = '';
    let data: string[] = [];
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r?\n/)) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer[newline] === '\r' ? 2 : 1));
          if (line === '') {
            if (data.length > 0) {
              this.messages.push({
                id,
                event: event || 'message',
                data: JSON.parse(data.join('\n')) as unknown,
              });
            }
            event = '';
            data = [];
          } else if (line.startsWith(':')) {
            this.comments.push(line.slice(1).trim());
          } else {
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          this.wake();
        }
      }
    } catch (error) {
      // An abort is the client leaving; anything else is the connection dropping, which a test inspects.
      if ((error as Error).name !== 'AbortError') this.failure = error;
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

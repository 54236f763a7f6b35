/** The tail of a task's output: keeps the most recent `limitBytes` bytes, dropping the oldest. */
export class OutputBuffer {
  private chunks: string[] = [];
  private bytes = 0;

  constructor(private readonly limitBytes: number) {}

  append(text: string): void {
    if (text === '') return;
    this.chunks.push(text);
    this.bytes += Buffer.byteLength(text);
    while (this.bytes > this.limitBytes && this.chunks.length > 0) {
      const first = this.chunks[0] ?? '';
      const firstBytes = Buffer.byteLength(first);
      const excess = this.bytes - this.limitBytes;
      if (firstBytes <= excess) {
        this.chunks.shift();
        this.bytes -= firstBytes;
      } else {
        // Keep the end of a chunk that straddles the limit (may split a multi-byte character).
        const kept = Buffer.from(first).subarray(excess).toString('utf8');
        this.chunks[0] = kept;
        this.bytes = this.bytes - firstBytes + Buffer.byteLength(kept);
        break;
      }
    }
  }

  toString(): string {
    return this.chunks.join('');
  }
}

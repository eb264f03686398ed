/**
 * Bounded capture of one output stream: the first `maxBytes` bytes are kept (decoded as UTF-8
 * without splitting a character), everything after is only counted. A small tail of the most
 * recent bytes is kept apart, so an error can quote the end of stderr even when the capture was
 * truncated. Memory never exceeds `maxBytes + tailBytes` whatever the program writes.
 */
export class OutputCapture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tailBuf: Buffer;
  private tailLen = 0;
  /** Bytes written by the program, including those dropped. */
  totalBytes = 0;

  constructor(
    private readonly maxBytes: number,
    tailBytes = 2048,
  ) {
    this.tailBuf = Buffer.alloc(tailBytes);
  }

  get truncated(): boolean {
    return this.totalBytes > this.headBytes;
  }

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    const room = this.maxBytes - this.headBytes;
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      // Copy: a subarray would pin the whole (possibly large) chunk in memory.
      this.head.push(kept === chunk ? chunk : Buffer.from(kept));
      this.headBytes += kept.length;
    }
    this.pushTail(chunk);
  }

  /** The kept output as text, cut back to a whole UTF-8 character when truncated. */
  text(): string {
    const buf = Buffer.concat(this.head, this.headBytes);
    return (this.truncated ? buf.subarray(0, utf8Boundary(buf)) : buf).toString("utf8");
  }

  /** The last bytes written (up to `tailBytes`), as text. */
  tail(): string {
    const buf = this.tailBuf.subarray(0, this.tailLen);
    return buf.subarray(utf8Start(buf)).toString("utf8");
  }

  private pushTail(chunk: Buffer): void {
    const size = this.tailBuf.length;
    if (size === 0) return;
    if (chunk.length >= size) {
      chunk.copy(this.tailBuf, 0, chunk.length - size);
      this.tailLen = size;
      return;
    }
    const keep = Math.min(this.tailLen, size - chunk.length);
    this.tailBuf.copy(this.tailBuf, 0, this.tailLen - keep, this.tailLen);
    chunk.copy(this.tailBuf, keep);
    this.tailLen = keep + chunk.length;
  }
}

/** Length of `buf` without a trailing incomplete UTF-8 sequence. */
export function utf8Boundary(buf: Buffer): number {
  let i = buf.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 4 && ((buf[i] as number) & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return buf.length;
  const lead = buf[i] as number;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return continuation + 1 >= need ? buf.length : i;
}

/** Offset of the first byte of `buf` that starts a UTF-8 character (skips leading continuation bytes). */
export function utf8Start(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && i < 3 && ((buf[i] as number) & 0xc0) === 0x80) i++;
  return i;
}

/**
 * Splits a byte stream into lines without decoding what nobody will read: `accept()` is asked
 * first, and only accepted lines are decoded. A line longer than `maxLineLength` bytes is cut
 * (and marked with "…"); the rest of it is skipped, so memory stays bounded by `maxLineLength`.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overlong = false;

  constructor(
    private readonly maxLineLength: number,
    private readonly onLine: (line: string) => void,
    private readonly accept: () => boolean = () => true,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      this.append(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
  }

  /** Emit a last line that had no newline. */
  end(): void {
    if (this.pendingBytes > 0 || this.overlong) this.emit();
  }

  private append(part: Buffer): void {
    const room = this.maxLineLength - this.pendingBytes;
    if (part.length > room) this.overlong = true;
    if (room <= 0 || part.length === 0) return;
    const kept = part.length <= room ? part : part.subarray(0, room);
    this.pending.push(Buffer.from(kept));
    this.pendingBytes += kept.length;
  }

  private emit(): void {
    const bytes = this.pendingBytes;
    const overlong = this.overlong;
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.overlong = false;
    if (!this.accept()) return;
    let line = Buffer.concat(parts, bytes).toString("utf8");
    if (line.endsWith("\r")) line = line.slice(0, -1);
    this.onLine(overlong ? `${line}…` : line);
  }
}

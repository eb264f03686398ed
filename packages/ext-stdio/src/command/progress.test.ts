import { describe, expect, it } from "vitest";
import { ProgressStream } from "./progress.js";

function stream(limits = { linesPerSecond: 2, burst: 3 }) {
  let clock = 0;
  const sent: Array<[number | null, string | undefined]> = [];
  const errors: unknown[] = [];
  const s = new ProgressStream(
    async (p, m) => {
      sent.push([p, m]);
    },
    limits,
    () => 0,
    (e) => errors.push(e),
    () => clock,
  );
  const offer = (line: string) => {
    if (s.take()) s.line(line);
  };
  return { s, sent, errors, offer, advance: (ms: number) => (clock += ms) };
}

describe("ProgressStream", () => {
  it("sends a burst, then counts skipped lines and announces them when tokens return", async () => {
    const { s, sent, offer, advance } = stream();
    for (let i = 1; i <= 6; i++) offer(`l${i}`);
    advance(1000); // two tokens: one for the notice, one for the next line
    offer("l7");
    await s.drain();
    expect(sent.map(([, m]) => m)).toEqual(["l1", "l2", "l3", "[... 3 lines not streamed]", "l7"]);
  });

  it("announces what is still skipped when drained", async () => {
    const { s, sent, offer } = stream({ linesPerSecond: 1, burst: 2 });
    for (let i = 0; i < 5; i++) offer(`x${i}`);
    await s.drain();
    expect(sent.map(([, m]) => m)).toEqual(["x0", "x1", "[... 3 lines not streamed]"]);
  });

  it("stops reporting after the sink fails once, and reports the failure", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const s = new ProgressStream(
      async () => {
        calls++;
        throw new Error("store closed");
      },
      { linesPerSecond: 100, burst: 100 },
      () => 0,
      (e) => errors.push(e),
    );
    s.line("a");
    await s.drain();
    s.line("b");
    await s.drain();
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

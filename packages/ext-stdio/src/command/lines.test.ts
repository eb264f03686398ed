import { describe, expect, it } from "vitest";
import { LineSplitter } from "./lines.js";

const split = (chunks: string[], max = 100, accept?: () => boolean) => {
  const lines: string[] = [];
  const s = new LineSplitter(max, (l) => lines.push(l), accept);
  for (const c of chunks) s.push(Buffer.from(c));
  s.end();
  return lines;
};

describe("LineSplitter", () => {
  it("joins lines split across chunks and strips CR", () => {
    expect(split(["one\ntw", "o\r\nthr", "ee"])).toEqual(["one", "two", "three"]);
  });

  it("keeps empty lines", () => {
    expect(split(["a\n\nb\n"])).toEqual(["a", "", "b"]);
  });

  it("cuts an overlong line and marks it", () => {
    expect(split(["abcdefgh", "ijk\nok\n"], 5)).toEqual(["abcde…", "ok"]);
  });

  it("does not decode lines it is told to skip", () => {
    let n = 0;
    const lines = split(["1\n2\n3\n4\n"], 100, () => ++n % 2 === 1);
    expect(lines).toEqual(["1", "3"]);
  });

  it("decodes a multi-byte character split across chunks", () => {
    const euro = Buffer.from("€\n");
    const lines: string[] = [];
    const s = new LineSplitter(100, (l) => lines.push(l));
    s.push(euro.subarray(0, 1));
    s.push(euro.subarray(1));
    expect(lines).toEqual(["€"]);
  });
});

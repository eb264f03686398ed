import { describe, expect, it } from "vitest";
import { OutputCapture, utf8Boundary } from "./output.js";

describe("OutputCapture", () => {
  it("keeps everything under the cap", () => {
    const c = new OutputCapture(100);
    c.push(Buffer.from("hello "));
    c.push(Buffer.from("world"));
    expect(c.text()).toBe("hello world");
    expect(c.truncated).toBe(false);
    expect(c.totalBytes).toBe(11);
  });

  it("keeps the beginning, counts the rest, and keeps a tail apart", () => {
    const c = new OutputCapture(4, 6);
    for (const part of ["abc", "defgh", "ijklmnop"]) c.push(Buffer.from(part));
    expect(c.text()).toBe("abcd");
    expect(c.truncated).toBe(true);
    expect(c.totalBytes).toBe(16);
    expect(c.tail()).toBe("klmnop");
  });

  it("builds the tail across small chunks", () => {
    const c = new OutputCapture(0, 5);
    for (const ch of "abcdefg") c.push(Buffer.from(ch));
    expect(c.tail()).toBe("cdefg");
    expect(c.text()).toBe("");
  });

  it("never cuts a UTF-8 character in half", () => {
    const c = new OutputCapture(7);
    c.push(Buffer.from("€€€")); // 9 bytes: the cap falls inside the third euro sign
    expect(c.text()).toBe("€€");
  });
});

describe("utf8Boundary", () => {
  it("finds the end of the last complete character", () => {
    const euro = Buffer.from("€"); // e2 82 ac
    expect(utf8Boundary(Buffer.concat([Buffer.from("a"), euro]))).toBe(4);
    expect(utf8Boundary(Buffer.concat([Buffer.from("a"), euro.subarray(0, 2)]))).toBe(1);
    expect(utf8Boundary(Buffer.concat([Buffer.from("a"), euro.subarray(0, 1)]))).toBe(1);
    expect(utf8Boundary(Buffer.from("plain"))).toBe(5);
    expect(utf8Boundary(Buffer.from("😀").subarray(0, 3))).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { SseParser } from "./sse.js";

describe("SseParser", () => {
  it("parses frames split anywhere, with ids, names, comments and CRLF", () => {
    const p = new SseParser();
    const text = ': hello\r\nevent: execution\r\ndata: {"a":1}\r\n\r\nid: 7\nevent: task.started\ndata: {"seq":7}\n\n';
    const frames = [];
    for (let i = 0; i < text.length; i += 3) frames.push(...p.feed(text.slice(i, i + 3)));
    expect(frames).toEqual([
      { event: "execution", data: '{"a":1}', id: undefined },
      { event: "task.started", data: '{"seq":7}', id: "7" },
    ]);
  });

  it("joins multi-line data and names unnamed frames message", () => {
    const p = new SseParser();
    expect(p.feed("data: one\ndata:two\n\n")).toEqual([{ event: "message", data: "one\ntwo", id: undefined }]);
    expect(p.feed("data: partial")).toEqual([]);
    expect(p.feed("\n\n")).toEqual([{ event: "message", data: "partial", id: undefined }]);
  });
});

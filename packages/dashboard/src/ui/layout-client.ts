import { type Layout, type LayoutTask, layoutTree } from "./data/layout.js";

let worker: Worker | null | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve(l: Layout): void; reject(e: Error): void }>();

function getWorker(base: string): Worker | null {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(`${base}/assets/layout-worker.js`, { type: "module", name: "apflow-layout" });
    worker.onmessage = (m: MessageEvent<{ id: number; layout?: Layout; error?: string }>) => {
      const w = waiting.get(m.data.id);
      if (!w) return;
      waiting.delete(m.data.id);
      if (m.data.layout) w.resolve(m.data.layout);
      else w.reject(new Error(m.data.error ?? "layout failed"));
    };
    worker.onerror = () => {
      // The worker could not start: lay out on the page instead from now on.
      for (const [, w] of waiting) w.reject(new Error("layout worker failed"));
      waiting.clear();
      worker = null;
    };
  } catch {
    worker = null;
  }
  return worker;
}

/** Lay a tree out in a Web Worker (the page stays responsive); on the page if workers are unavailable. */
export function layoutAsync(base: string, tasks: LayoutTask[]): Promise<Layout> {
  const w = getWorker(base);
  const plain = tasks.map((t) => ({ id: t.id, parentId: t.parentId, dependencies: t.dependencies }));
  if (!w) return Promise.resolve(layoutTree(plain));
  const id = nextId++;
  return new Promise<Layout>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, tasks: plain });
  }).catch(() => layoutTree(plain));
}

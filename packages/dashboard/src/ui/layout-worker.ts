/// <reference lib="webworker" />
// Lays a tree out off the main thread, so a 1,000-task tree never freezes the page.
import { type LayoutTask, layoutTree } from "./data/layout.js";

interface Request {
  id: number;
  tasks: LayoutTask[];
}

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.onmessage = (message: MessageEvent<Request>) => {
  const { id, tasks } = message.data;
  try {
    scope.postMessage({ id, layout: layoutTree(tasks) });
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message });
  }
};

export * from "./types.js";
export { checkRegistration, nodeState, OVERLOADED_LOAD, STALE_AFTER_BEATS, viewNode } from "./state.js";
export { MemoryNodeStore } from "./memory.js";
export {
  drainNode,
  getNode,
  type HandBackResult,
  handBackLeases,
  listNodes,
  requeueNode,
  requireNodes,
} from "./admin.js";

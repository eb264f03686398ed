import type { Logger } from "../logger.js";
import { viewNode } from "../nodes/state.js";
import type { NodeRecord, NodeStore, NodeView } from "../nodes/types.js";
import type { TaskStore } from "../store/types.js";
import { executorIdOf } from "../tree/executor-id.js";
import type { NewTask, Task } from "../types.js";
import { isLive } from "./eligible.js";
import { checkPlacementOptions, planPlacement } from "./plan.js";
import { newPlacementCursor, type PlacementCursor } from "./strategies.js";
import type { ExecutionPlacement, PlacementOptions, PlacementTask } from "./types.js";

/** How long a read of the node registry is used before it is read again. */
export const NODE_CACHE_MS = 1000;

/** A task (stored or about to be) as placement sees it. */
export function placementTaskOf(task: Task | NewTask): PlacementTask {
  return {
    id: task.id,
    parentId: task.parentId,
    rootId: task.rootId,
    executor: executorIdOf(task).id,
    placement: task.placement ?? null,
  };
}

export interface PlacerOptions {
  store: TaskStore;
  clock: () => Date;
  logger: Logger;
  /** The engine's placement (`EngineOptions.placement`); a call's options override it field by field. */
  placement?: PlacementOptions;
}

/**
 * The engine's side of placement: when an execution starts, it computes the execution's
 * `ExecutionPlacement` from the node registry (`store.nodes`, read at most once a second) with
 * the engine's strategy or the call's, and keeps the round-robin turn and the tasks it placed per
 * node across executions. With strategy `capability` (the default) or without a registry it
 * reads nothing and places nothing.
 */
export class Placer {
  readonly cursor: PlacementCursor = newPlacementCursor();
  private readonly nodes: NodeStore | null;
  private readonly defaults: PlacementOptions;
  private cached: { at: number; records: NodeRecord[] } | undefined;
  private loading: Promise<NodeRecord[]> | undefined;

  constructor(private readonly o: PlacerOptions) {
    this.nodes = o.store.nodes ?? null;
    this.defaults = { ...(o.placement ?? {}) };
    checkPlacementOptions(this.defaults);
  }

  /** The options of a call: the engine's, with the call's fields over them. */
  optionsFor(override?: PlacementOptions): PlacementOptions {
    if (!override) return this.defaults;
    const out: PlacementOptions = { ...this.defaults };
    if (override.strategy !== undefined) out.strategy = override.strategy;
    if (override.granularity !== undefined) out.granularity = override.granularity;
    return out;
  }

  /**
   * Whether a call with this override places anything (else no task or node is read); a bad
   * override is refused here.
   */
  places(override?: PlacementOptions): boolean {
    const options = this.optionsFor(override);
    if (override) checkPlacementOptions(options);
    return this.nodes !== null && (options.strategy ?? "capability") !== "capability";
  }

  /**
   * The placement of one execution over `tasks` (a function: read only when some node is live),
   * or undefined for none.
   */
  async place(
    tasks: readonly PlacementTask[] | (() => Promise<readonly PlacementTask[]>),
    override?: PlacementOptions,
  ): Promise<ExecutionPlacement | undefined> {
    if (!this.places(override)) return undefined;
    const options = this.optionsFor(override);
    const nodes = await this.liveNodes();
    const list = nodes.length === 0 ? [] : typeof tasks === "function" ? await tasks() : tasks;
    const placement = planPlacement(list, nodes, options, this.cursor);
    return placement.assign || placement.followDependencies ? placement : undefined;
  }

  /** The placement of an execution of `taskId` (over its whole tree; the store keeps the run set's). */
  async placeTask(taskId: string, override?: PlacementOptions): Promise<ExecutionPlacement | undefined> {
    return this.place(async () => {
      const task = await this.o.store.getTask(taskId);
      if (!task) return [];
      return (await this.o.store.getTree(task.rootId)).map(placementTaskOf);
    }, override);
  }

  /** The registry's live nodes, viewed now (read again when the last read is older than 1 s). */
  private async liveNodes(): Promise<NodeView[]> {
    const now = this.o.clock();
    let records = this.cached && now.getTime() - this.cached.at <= NODE_CACHE_MS ? this.cached.records : undefined;
    if (!records) {
      this.loading ??= this.read(now.getTime()).finally(() => {
        this.loading = undefined;
      });
      records = await this.loading;
    }
    return records.map((r) => viewNode(r, now)).filter(isLive);
  }

  private async read(at: number): Promise<NodeRecord[]> {
    try {
      const records = await (this.nodes as NodeStore).list();
      this.cached = { at, records };
      return records;
    } catch (err) {
      // A preference only: an execution starts without one rather than fail.
      this.o.logger.warn({ err }, "placement: cannot read the node registry; placing nothing");
      return [];
    }
  }
}

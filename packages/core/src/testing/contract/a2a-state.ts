import { expect } from "vitest";
import { A2A_MAX_HISTORY, A2A_MAX_PUSH_CONFIGS, type A2aStateStore } from "../../a2a-state/types.js";
import type { TaskStore } from "../../store/types.js";
import type { JsonValue } from "../../types.js";
import { describeFacetContract, type FacetContractOptions } from "./facet-suite.js";
import { at, T0 } from "./support.js";

/**
 * The contract of the A2A facet (`store.a2a`): a root's conversation state (contextId, bounded
 * history, last status message) written and read back exactly, listed by contextId per owner, and
 * push notification configs per root (bounded, replaced by id, deleted, forgotten with the root).
 * Checks take a fresh, empty store.
 */
export interface A2aStateCheck {
  name: string;
  run(store: TaskStore): Promise<void>;
}

function facet(store: TaskStore): A2aStateStore {
  const a2a = store.a2a;
  if (!a2a) throw new Error("this store has no A2A facet (store.a2a)");
  return a2a;
}

const message = (n: number, text = `m${n}`): JsonValue => ({
  messageId: `msg-${n}`,
  role: "ROLE_USER",
  parts: [{ text }, { data: { n, nested: { list: [1, "two", null, true] } } }],
});

const conversation = (rootId: string, over: Partial<Parameters<A2aStateStore["putConversation"]>[0]> = {}) => ({
  rootId,
  owner: "u1" as string | null,
  contextId: "ctx-1" as string | null,
  history: [message(1)],
  statusMessage: null as JsonValue | null,
  state: null as number | null,
  ...over,
});

const pushConfig = (rootId: string, configId: string, url = `http://127.0.0.1:9/${configId}`) => ({
  rootId,
  owner: "u1" as string | null,
  configId,
  config: { id: configId, taskId: rootId, url, token: "secret-token", authentication: null } as JsonValue,
  wireVersion: "1.0",
});

export const a2aStateContractChecks: A2aStateCheck[] = [
  {
    name: "a2a: a conversation reads back exactly; a missing one is null",
    async run(store) {
      const f = facet(store);
      expect(await f.getConversation("r1")).toBeNull();
      const status = { messageId: "s", role: "ROLE_AGENT", parts: [{ text: "tree completed ✓ \u00e9" }] };
      await f.putConversation(
        conversation("r1", { history: [message(1), message(2)], statusMessage: status, state: 3 }),
        T0,
      );
      expect(await f.getConversation("r1")).toEqual({
        rootId: "r1",
        owner: "u1",
        contextId: "ctx-1",
        history: [message(1), message(2)],
        statusMessage: status,
        state: 3,
        createdAt: T0,
        updatedAt: T0,
      });
      await f.putConversation(conversation("r2", { owner: null, contextId: null, history: [] }), T0);
      const r2 = await f.getConversation("r2");
      expect(r2?.owner).toBeNull();
      expect(r2?.contextId).toBeNull();
      expect(r2?.history).toEqual([]);
      expect(r2?.statusMessage).toBeNull();
      expect(r2?.state).toBeNull();
    },
  },
  {
    name: "a2a: a write replaces the state and keeps the first createdAt",
    async run(store) {
      const f = facet(store);
      await f.putConversation(conversation("r1", { state: 2, statusMessage: message(9) }), T0);
      await f.putConversation(conversation("r1", { history: [message(1), message(2)], state: 3 }), at(5000));
      const got = await f.getConversation("r1");
      expect(got?.history).toEqual([message(1), message(2)]);
      expect(got?.state).toBe(3);
      expect(got?.statusMessage).toBeNull();
      expect(got?.createdAt).toEqual(T0);
      expect(got?.updatedAt).toEqual(at(5000));
    },
  },
  {
    name: "a2a: any string inside messages and configs reads back exactly (NUL, lone surrogates, emoji)",
    async run(store) {
      const f = facet(store);
      const odd = 'nul \u0000 lone \ud800 and \udc00 emoji \u{1F600} quote " backslash \\ newline \n';
      const msg: JsonValue = { messageId: odd, parts: [{ text: odd }, { data: { [odd]: odd } }] };
      const contextId = 'ctx \u{1F600} "quoted" \\ é';
      await f.putConversation(conversation("r1", { contextId, history: [msg], statusMessage: msg }), T0);
      const got = await f.getConversation("r1");
      expect(got?.contextId).toBe(contextId);
      expect(got?.history).toEqual([msg]);
      expect(got?.statusMessage).toEqual(msg);
      expect((await f.listConversations({ contextId, limit: 5, offset: 0 })).rootIds).toEqual(["r1"]);
      await f.putPushConfig({ ...pushConfig("r1", "c1"), config: { url: "http://127.0.0.1:9/h", token: odd } }, T0);
      expect((await f.listPushConfigs("r1"))[0]?.config).toEqual({ url: "http://127.0.0.1:9/h", token: odd });
    },
  },
  {
    name: `a2a: history keeps the latest ${A2A_MAX_HISTORY} messages`,
    async run(store) {
      const f = facet(store);
      const long = Array.from({ length: A2A_MAX_HISTORY + 7 }, (_, i) => message(i));
      await f.putConversation(conversation("r1", { history: long }), T0);
      const got = await f.getConversation("r1");
      expect(got?.history).toHaveLength(A2A_MAX_HISTORY);
      expect(got?.history[0]).toEqual(message(7));
      expect(got?.history.at(-1)).toEqual(message(A2A_MAX_HISTORY + 6));
    },
  },
  {
    name: "a2a: roots are listed by contextId, newest first, paged, and per owner",
    async run(store) {
      const f = facet(store);
      await f.putConversation(conversation("a", { contextId: "ctx-1" }), at(1000));
      await f.putConversation(conversation("b", { contextId: "ctx-1" }), at(3000));
      await f.putConversation(conversation("c", { contextId: "ctx-2" }), at(2000));
      await f.putConversation(conversation("d", { contextId: "ctx-1", owner: "u2" }), at(4000));
      await f.putConversation(conversation("e", { contextId: "ctx-1", owner: null }), at(5000));
      // A later write does not move a root in the order (createdAt stays).
      await f.putConversation(conversation("a", { contextId: "ctx-1" }), at(9000));
      expect(await f.listConversations({ contextId: "ctx-1", owner: "u1", limit: 10, offset: 0 })).toEqual({
        rootIds: ["b", "a"],
        total: 2,
      });
      expect(await f.listConversations({ contextId: "ctx-1", limit: 10, offset: 0 })).toEqual({
        rootIds: ["e", "d", "b", "a"],
        total: 4,
      });
      expect(await f.listConversations({ contextId: "ctx-1", limit: 2, offset: 1 })).toEqual({
        rootIds: ["d", "b"],
        total: 4,
      });
      expect(await f.listConversations({ contextId: "ctx-1", owner: null, limit: 10, offset: 0 })).toEqual({
        rootIds: ["e"],
        total: 1,
      });
      expect(await f.listConversations({ contextId: "ctx-1", owner: "u3", limit: 10, offset: 0 })).toEqual({
        rootIds: [],
        total: 0,
      });
      expect((await f.listConversations({ contextId: "nope", limit: 10, offset: 0 })).total).toBe(0);
    },
  },
  {
    name: "a2a: push configs are saved per root, replaced by id, oldest first, and deleted",
    async run(store) {
      const f = facet(store);
      expect(await f.listPushConfigs("r1")).toEqual([]);
      expect(await f.putPushConfig(pushConfig("r1", "c1"), T0)).toBe(true);
      expect(await f.putPushConfig(pushConfig("r1", "c2"), at(1000))).toBe(true);
      expect(await f.putPushConfig(pushConfig("r2", "c1"), at(2000))).toBe(true);
      // Replacing c1 keeps its place.
      expect(
        await f.putPushConfig({ ...pushConfig("r1", "c1", "http://127.0.0.1:9/new"), wireVersion: "0.3" }, at(3000)),
      ).toBe(true);
      const r1 = await f.listPushConfigs("r1");
      expect(r1.map((c) => c.configId)).toEqual(["c1", "c2"]);
      expect(r1[0]).toEqual({
        ...pushConfig("r1", "c1", "http://127.0.0.1:9/new"),
        wireVersion: "0.3",
        createdAt: T0,
      });
      expect((await f.listPushConfigs("r2")).map((c) => c.configId)).toEqual(["c1"]);
      expect(await f.deletePushConfig("r1", "c1")).toBe(true);
      expect(await f.deletePushConfig("r1", "c1")).toBe(false);
      expect(await f.deletePushConfig("r9", "c1")).toBe(false);
      expect((await f.listPushConfigs("r1")).map((c) => c.configId)).toEqual(["c2"]);
      expect((await f.listPushConfigs("r2")).map((c) => c.configId)).toEqual(["c1"]);
    },
  },
  {
    name: `a2a: a root holds at most ${A2A_MAX_PUSH_CONFIGS} push configs (replacing one still works)`,
    async run(store) {
      const f = facet(store);
      for (let i = 0; i < A2A_MAX_PUSH_CONFIGS; i++) {
        expect(await f.putPushConfig(pushConfig("r1", `c${i}`), at(i))).toBe(true);
      }
      expect(await f.putPushConfig(pushConfig("r1", "one-too-many"), at(100))).toBe(false);
      expect(await f.putPushConfig(pushConfig("r1", "c0", "http://127.0.0.1:9/again"), at(100))).toBe(true);
      const all = await f.listPushConfigs("r1");
      expect(all).toHaveLength(A2A_MAX_PUSH_CONFIGS);
      expect(all.map((c) => c.configId)).not.toContain("one-too-many");
      expect(await f.putPushConfig(pushConfig("r2", "c0"), at(100))).toBe(true);
    },
  },
  {
    name: "a2a: forget removes the roots' conversations and push configs, and only theirs",
    async run(store) {
      const f = facet(store);
      await f.putConversation(conversation("r1"), T0);
      await f.putConversation(conversation("r2"), T0);
      await f.putPushConfig(pushConfig("r1", "c1"), T0);
      await f.putPushConfig(pushConfig("r2", "c1"), T0);
      await f.forget(["r1", "missing"]);
      await f.forget([]);
      expect(await f.getConversation("r1")).toBeNull();
      expect(await f.listPushConfigs("r1")).toEqual([]);
      expect(await f.getConversation("r2")).not.toBeNull();
      expect(await f.listPushConfigs("r2")).toHaveLength(1);
      expect((await f.listConversations({ contextId: "ctx-1", limit: 10, offset: 0 })).rootIds).toEqual(["r2"]);
    },
  },
];

export type A2aStateContractOptions = FacetContractOptions;

/** Run the A2A facet contract as a vitest suite; every check gets a fresh store. */
export function describeA2aStateContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: A2aStateContractOptions = {},
): void {
  describeFacetContract(
    `A2aStateStore contract: ${name}`,
    a2aStateContractChecks,
    createStore,
    options,
    (store) => store,
  );
}

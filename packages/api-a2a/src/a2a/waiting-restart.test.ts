import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Engine } from "@aipartnerupflow/core";
import { createPrismaStore, type PrismaTaskStore } from "@aipartnerupflow/storage-prisma";
import { Role, type Task as A2aTask, TaskState } from "@a2a-js/sdk";
import { type Client, ClientFactory } from "@a2a-js/sdk/client";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../app.js";
import type { ServerHandle } from "../server.js";
import { listen, testEngine } from "../testing/fixtures.js";
import { dataPart, textPart } from "./mapping.js";

/**
 * A tree waits on one server (SQLite file); that server stops; another one on the same file
 * answers GetTask with input-required and the question, and a reply there runs the tree on.
 */

interface Node {
  store: PrismaTaskStore;
  engine: Engine;
  server: ServerHandle;
  client: Client;
}

const dir = mkdtempSync(join(tmpdir(), "apflow-a2a-wait-restart-"));
const url = `file:${join(dir, "apflow.db")}`;

async function startNode(): Promise<Node> {
  const store = await createPrismaStore({ url });
  const engine = testEngine(store);
  await engine.start();
  const server = await listen(createApp({ engine }));
  const client = await new ClientFactory().createFromUrl(server.url);
  return { store, engine, server, client };
}

async function stopNode(node: Node): Promise<void> {
  await node.engine.stop({ graceMs: 0 });
  await node.server.close();
  await node.store.close();
}

function send(parts: ReturnType<typeof dataPart>[], taskId = "") {
  return {
    tenant: "",
    message: {
      messageId: crypto.randomUUID(),
      contextId: "",
      taskId,
      role: Role.ROLE_USER,
      parts,
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("A2A: a waiting tree across a restart", () => {
  it("is input-required on the next server, and a reply there completes it", { timeout: 60_000 }, async () => {
    const first = await startNode();
    const tree = {
      tasks: [
        { name: "gate", params: { executorId: "approval" }, inputs: { prompt: "Rotate the keys?" } },
        {
          name: "rotate",
          parentId: "gate",
          params: { executorId: "echo" },
          inputs: { rotated: 3 },
          dependencies: ["gate"],
        },
      ],
    };
    const asked = (await first.client.sendMessage(send([dataPart(tree)]))) as A2aTask;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    await stopNode(first);

    const second = await startNode();
    try {
      const got = await second.client.getTask({ tenant: "", id: asked.id });
      expect(got.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      expect(got.status?.message?.parts[0]?.content?.value).toBe("Rotate the keys?");
      const done = (await second.client.sendMessage(send([textPart("approve")], asked.id))) as A2aTask;
      expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      const rotate = (await second.store.listTasks({ rootId: asked.id })).tasks.find((t) => t.name === "rotate");
      expect(rotate?.result).toMatchObject({ rotated: 3 });
    } finally {
      await stopNode(second);
    }
  });
});

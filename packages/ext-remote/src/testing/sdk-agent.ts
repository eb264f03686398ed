import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AgentCard, Role, TaskState } from "@a2a-js/sdk";
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  ServerCallContext,
} from "@a2a-js/sdk/server";

/**
 * A plain A2A agent built from the official SDK's server parts (not an aipartnerupflow server):
 * every message gets a task that asks for input (`input-required`), with a status message.
 * Blocking JSON-RPC only (its card says no streaming). Records the tasks it was asked to cancel.
 */
export async function startInputRequiredAgent(): Promise<{ url: string; cancelled: string[]; close(): Promise<void> }> {
  const cancelled: string[] = [];
  let server: Server | undefined;
  const executor: AgentExecutor = {
    async execute(rc, bus) {
      bus.publish(
        AgentEvent.task({
          id: rc.taskId,
          contextId: rc.contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
          artifacts: [],
          history: [rc.userMessage],
          metadata: undefined,
        }),
      );
      // A status update (not the task event) is what ends a blocking send at input-required.
      bus.publish(
        AgentEvent.statusUpdate({
          taskId: rc.taskId,
          contextId: rc.contextId,
          status: {
            state: TaskState.TASK_STATE_INPUT_REQUIRED,
            message: {
              messageId: "ask-1",
              contextId: rc.contextId,
              taskId: rc.taskId,
              role: Role.ROLE_AGENT,
              parts: [
                {
                  content: { $case: "text", value: "which region?" },
                  metadata: undefined,
                  filename: "",
                  mediaType: "text/plain",
                },
              ],
              metadata: undefined,
              extensions: [],
              referenceTaskIds: [],
            },
            timestamp: new Date().toISOString(),
          },
          metadata: undefined,
        }),
      );
    },
    async cancelTask(taskId, bus) {
      cancelled.push(taskId);
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId: "",
          status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() },
          metadata: undefined,
        }),
      );
    },
  };
  server = createServer();
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const card: AgentCard = {
    name: "asks-for-input",
    description: "always asks for input",
    supportedInterfaces: [{ url: `${url}/a2a`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" }],
    provider: undefined,
    version: "1.0.0",
    documentationUrl: undefined,
    capabilities: { streaming: false, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: [],
    signatures: [],
    iconUrl: undefined,
  };
  const handler = new JsonRpcTransportHandler(new DefaultRequestHandler(card, new InMemoryTaskStore(), executor));
  server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(AgentCard.toJSON(card)));
        return;
      }
      const context = new ServerCallContext({ requestedVersion: "1.0" });
      const out = await handler.handle(Buffer.concat(chunks).toString("utf8"), context);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(out));
    });
  });
  return {
    url,
    cancelled,
    close: () =>
      new Promise<void>((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
}

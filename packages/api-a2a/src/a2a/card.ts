import type { AgentCard, AgentSkill } from "@a2a-js/sdk";

export interface CardOptions {
  name: string;
  version: string;
  /** `http://host:port` the clients use. */
  baseUrl: string;
  auth: boolean;
}

function skill(id: string, name: string, description: string, examples: string[]): AgentSkill {
  return {
    id,
    name,
    description,
    tags: ["tasks", "orchestration"],
    examples,
    inputModes: ["application/json"],
    outputModes: ["application/json"],
    securityRequirements: [],
  };
}

const SKILLS: AgentSkill[] = [
  skill(
    "run_tree",
    "Create and run a task tree",
    'Send a data part {"tasks": [...]} (the flat task array): the tree is created and executed; the A2A task is the tree, its id the root task id. Stream to receive one status update per task event.',
    ['{"tasks":[{"name":"root","params":{"executorId":"aggregate_results"}}]}'],
  ),
  skill(
    "answer",
    "Answer a waiting tree",
    'A tree in input-required asks in its status message (prompt, and {taskId, schema} per question). Send a message with that task id and a data part matching the schema ({"taskId", "input"} when several wait; "yes"/"no" for an approval): the tree runs on.',
    ['{"approved":true,"comment":"ok"}'],
  ),
  skill(
    "plan",
    "Plan, approve, run a request",
    "Send a plain-text request: it is planned into a task tree (needs an LLM provider on the server) that waits in input-required for your approval of the plan; reply yes to run it.",
    ["check the disk space on the data volume and report"],
  ),
  skill(
    "get_task",
    "Get a tree",
    "GetTask / tasks/get with the root task id: the tree's state and, once finished, every task's result.",
    [],
  ),
  skill("list_tasks", "List trees", "ListTasks: the caller's trees, newest first.", []),
  skill(
    "cancel_task",
    "Cancel a tree",
    "CancelTask / tasks/cancel: cancels every task of the tree that is not finished.",
    [],
  ),
  skill(
    "task_operation",
    "Other task operations",
    "Set metadata.method to a JSON-RPC method of POST /tasks (tasks.get, tasks.tree, tasks.list, ...) and put its params in a data part; the reply is an agent message with the result.",
    ['metadata {"method":"tasks.tree"}, data {"taskId":"<root id>"}'],
  ),
];

/** The agent card (docs/semantics.md#the-api-surfaces) in the SDK's v1.0 model: JSON-RPC at /a2a for v1.0 and v0.3. */
export function buildCard(options: CardOptions): AgentCard {
  const url = `${options.baseUrl}/a2a`;
  return {
    name: options.name,
    description: "Runs trees of tasks (dependencies, priorities, retries, cancellation) and streams their progress.",
    supportedInterfaces: [
      { url, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" },
      { url, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "0.3" },
    ],
    provider: undefined,
    version: options.version,
    documentationUrl: `${options.baseUrl}/docs`,
    capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: false },
    securitySchemes: options.auth
      ? {
          bearer: {
            scheme: {
              $case: "httpAuthSecurityScheme",
              value: { description: "JWT (HS256 or JWKS); sub is the user id", scheme: "bearer", bearerFormat: "JWT" },
            },
          },
        }
      : {},
    securityRequirements: options.auth ? [{ schemes: { bearer: { list: [] } } }] : [],
    defaultInputModes: ["application/json", "text/plain"],
    defaultOutputModes: ["application/json"],
    skills: SKILLS,
    signatures: [],
  };
}

/**
 * The card as served. A2A 1.0 clients (header `A2A-Version: 1.0`) get the v1.0 JSON; others get
 * the v0.3 fields (`url`, `protocolVersion`, `preferredTransport`, ...) with the v1.0
 * `supportedInterfaces` alongside.
 */
export function cardJson(card: AgentCard, toJson: (c: AgentCard) => unknown, legacy: boolean): Record<string, unknown> {
  const v1 = toJson(card) as Record<string, unknown>;
  if (!legacy) return v1;
  const primary = card.supportedInterfaces[0];
  const bearer = Object.keys(card.securitySchemes).length > 0;
  return {
    ...v1,
    protocolVersion: "0.3.0",
    url: primary?.url,
    preferredTransport: "JSONRPC",
    capabilities: { streaming: true, pushNotifications: true, stateTransitionHistory: false },
    skills: card.skills.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description,
      tags: s.tags,
      examples: s.examples,
    })),
    ...(bearer
      ? {
          securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
          security: [{ bearer: [] }],
        }
      : {}),
  };
}

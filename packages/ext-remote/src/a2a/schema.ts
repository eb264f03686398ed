import { z } from "zod";
import { secretValue } from "../secrets.js";

export const a2aInputSchema = z
  .object({
    agentUrl: z
      .string()
      .url()
      .describe("the agent's base URL (its card is read from /.well-known/agent-card.json) or the card's own URL"),
    cardPath: z
      .string()
      .optional()
      .describe('path of the agent card relative to agentUrl; "" when agentUrl is the card\'s URL'),
    message: z
      .object({
        text: z.string().optional().describe("a text part"),
        data: z
          .unknown()
          .optional()
          .describe("a data part; for an aipartnerupflow server, {tasks: [...]} runs that tree there"),
      })
      .strict()
      .refine((m) => m.text !== undefined || m.data !== undefined, {
        message: "give message.text, message.data or both",
      }),
    blocking: z
      .boolean()
      .default(true)
      .describe("wait for the remote task to finish (default); false returns as soon as the remote task exists"),
    timeoutMs: z.number().int().positive().optional().describe("then the remote task is cancelled and this one fails"),
    headers: z
      .record(z.string(), z.union([z.string().regex(/^[^\r\n\0]*$/), z.object({ secret: z.string().min(1) }).strict()]))
      .optional()
      .describe("sent with every request to the agent (its card too); a value may be {secret: name}"),
    bearerToken: secretValue
      .optional()
      .describe("sent as Authorization: Bearer; {secret: name} reads a per-request secret"),
  })
  .strict();
export type A2aInputs = z.output<typeof a2aInputSchema>;
export type A2aInputsInput = z.input<typeof a2aInputSchema>;

const partSchema = z.union([
  z.object({ kind: z.literal("text"), text: z.string() }),
  z.object({ kind: z.literal("data"), data: z.unknown() }),
  z.object({ kind: z.literal("url"), url: z.string(), mediaType: z.string().optional() }),
  z.object({ kind: z.literal("raw"), base64: z.string(), mediaType: z.string().optional() }),
]);

export const a2aResultSchema = z.object({
  remoteTaskId: z.string().nullable().describe("the remote task's id (null when the agent answered with a message)"),
  contextId: z.string(),
  state: z.string().describe("the remote task's final state (completed; or the state it had when blocking is false)"),
  artifacts: z.array(z.object({ artifactId: z.string(), name: z.string(), parts: z.array(partSchema) })),
  text: z.string().describe("every text part of the artifacts (or of the answering message), joined by newlines"),
  data: z.unknown().describe("the first data part of the artifacts (or of the message), else null"),
});

export type A2aPart =
  | { kind: "text"; text: string }
  | { kind: "data"; data: import("@aipartnerupflow/core").JsonValue }
  | { kind: "url"; url: string; mediaType?: string }
  | { kind: "raw"; base64: string; mediaType?: string };

export interface A2aResult {
  remoteTaskId: string | null;
  contextId: string;
  state: string;
  artifacts: Array<{ artifactId: string; name: string; parts: A2aPart[] }>;
  text: string;
  data: import("@aipartnerupflow/core").JsonValue;
}

import { z } from "zod";
import { RemoteErrorCode, refuse } from "./errors.js";

/**
 * A value given inline, or a reference to a per-request secret (`{secret: "name"}`, read from
 * `ctx.secrets`), so that tokens never sit in task rows or events.
 */
export const secretValue = z.union([
  z.string(),
  z.object({ secret: z.string().min(1).describe("name of a per-request secret (ctx.secrets)") }).strict(),
]);
export type SecretValue = z.infer<typeof secretValue>;

/** The value itself; a missing secret is a final `SECRET_MISSING` failure naming the field and the secret. */
export function reveal(value: SecretValue, secrets: Readonly<Record<string, string>>, field: string): string {
  if (typeof value === "string") return value;
  const found = secrets[value.secret];
  if (found === undefined) {
    throw refuse(
      RemoteErrorCode.SecretMissing,
      `${field} names the secret "${value.secret}", which this request did not bring`,
      { field, secret: value.secret },
    );
  }
  return found;
}

/** Every revealed secret value of a run, to scrub from messages and details. */
export function secretValues(
  values: Array<SecretValue | undefined>,
  secrets: Readonly<Record<string, string>>,
): string[] {
  const out: string[] = [];
  for (const v of values) if (v && typeof v !== "string" && secrets[v.secret]) out.push(secrets[v.secret] as string);
  return out;
}

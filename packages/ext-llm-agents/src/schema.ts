import { compileSchema, type JsonValue, type SchemaLike, zodIssues } from "@aipartnerupflow/core";
import { type JSONSchema7, jsonSchema, type Schema } from "ai";

/**
 * An AI SDK schema from a zod schema or a JSON Schema object. The JSON Schema form is what the
 * model sees; validation runs through zod (core's `compileSchema`), so both forms validate alike
 * and a failure lists every issue with its path.
 */
export function toSdkSchema(schema: SchemaLike): Schema<JsonValue> {
  const compiled = compileSchema(schema);
  return jsonSchema<JsonValue>(compiled.json as JSONSchema7, {
    validate: (value) => {
      const parsed = compiled.zod.safeParse(value);
      if (parsed.success) return { success: true, value: parsed.data as JsonValue };
      const issues = zodIssues(parsed.error)
        .map((i) => `${i.path || "(root)"}: ${i.message}`)
        .join("; ");
      return { success: false, error: new Error(issues) };
    },
  });
}

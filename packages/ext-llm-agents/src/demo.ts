import type { JsonObject, JsonValue } from "@aipartnerupflow/core";

/**
 * A small value that satisfies a JSON Schema (the common keywords), for demo results of
 * structured output: required properties filled in, enums take their first value.
 */
export function exampleFromSchema(schema: JsonValue | undefined, depth = 0): JsonValue {
  if (!schema || typeof schema !== "object" || Array.isArray(schema) || depth > 8) return null;
  const s = schema as JsonObject;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0] as JsonValue;
  if (s.default !== undefined) return s.default;
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) return exampleFromSchema(options[0], depth + 1);
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object": {
      const out: JsonObject = {};
      const props =
        s.properties && typeof s.properties === "object" && !Array.isArray(s.properties) ? s.properties : {};
      const required = Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : [];
      for (const key of required) out[key] = exampleFromSchema((props as JsonObject)[key], depth + 1);
      return out;
    }
    case "array": {
      const min = typeof s.minItems === "number" ? s.minItems : 0;
      return Array.from({ length: min }, () => exampleFromSchema(s.items, depth + 1));
    }
    case "string":
      return typeof s.minLength === "number" && s.minLength > 4 ? "demo".padEnd(s.minLength, ".") : "demo";
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

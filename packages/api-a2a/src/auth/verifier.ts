import { type JWTPayload, type JWTVerifyGetKey, createRemoteJWKSet, jwtVerify } from "jose";
import { UnauthenticatedError } from "../errors.js";
import type { AuthOptions, Principal } from "../types.js";

/** Turns a bearer token into a principal, or throws `UnauthenticatedError`. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** An HS256 verifier for `jwtSecret`, or a JWKS verifier for `jwksUrl`; `null` when auth is off. */
export function createVerifier(options: AuthOptions | undefined): TokenVerifier | null {
  if (!options?.jwtSecret && !options?.jwksUrl) return null;
  const key: Uint8Array | JWTVerifyGetKey = options.jwtSecret
    ? new TextEncoder().encode(options.jwtSecret)
    : createRemoteJWKSet(new URL(options.jwksUrl as string));
  const verifyOptions = {
    ...(options.jwtSecret ? { algorithms: ["HS256"] } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      const verified =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, key, verifyOptions);
      payload = verified.payload;
    } catch {
      throw new UnauthenticatedError("invalid or expired token");
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0)
      throw new UnauthenticatedError("token has no subject");
    return { userId: payload.sub, admin: rolesOf(payload).includes("admin"), authenticated: true };
  };
}

/** Roles from a `roles` array claim or a single `role` claim. */
export function rolesOf(payload: JWTPayload): string[] {
  const roles = payload.roles;
  if (Array.isArray(roles)) return roles.filter((r): r is string => typeof r === "string");
  return typeof payload.role === "string" ? [payload.role] : [];
}

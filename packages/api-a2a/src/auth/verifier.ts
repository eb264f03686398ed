import { webcrypto } from "node:crypto";
import {
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyInput,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { UnauthenticatedError } from "../errors.js";
import type { AuthOptions, Principal } from "../types.js";

/** Turns a bearer token into a principal, or throws `UnauthenticatedError`. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** An HS256 verifier for `jwtSecret`, or a JWKS verifier for `jwksUrl`; `null` when auth is off. */
export function createVerifier(options: AuthOptions | undefined): TokenVerifier | null {
  if (!options?.jwtSecret && !options?.jwksUrl) return null;
  // The HS256 secret is imported into WebCrypto once (the import jose would otherwise repeat
  // for every request), lazily so that creating the verifier stays synchronous.
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  let hmacKey: Promise<KeyInput> | undefined;
  const hs256Key = (bytes: Uint8Array): Promise<KeyInput> => {
    hmacKey ??= webcrypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]) as Promise<KeyInput>;
    return hmacKey;
  };
  const jwks: JWTVerifyGetKey | undefined = secret ? undefined : createRemoteJWKSet(new URL(options.jwksUrl as string));
  // Every token must expire and name a user: a token without `exp` would be valid forever.
  const verifyOptions = {
    requiredClaims: ["exp", "sub"],
    ...(options.jwtSecret ? { algorithms: ["HS256"] } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      const verified = secret
        ? await jwtVerify(token, await hs256Key(secret), verifyOptions)
        : await jwtVerify(token, jwks as JWTVerifyGetKey, verifyOptions);
      payload = verified.payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "sub" && err.reason === "missing")
        throw new UnauthenticatedError("token has no subject");
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

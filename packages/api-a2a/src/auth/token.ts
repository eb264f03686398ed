import { SignJWT } from "jose";

export interface CreateTokenOptions {
  /** The HS256 secret the server verifies with (`APFLOW_JWT_SECRET`). */
  secret: string;
  /** The user id. */
  sub: string;
  /** For example `["admin"]`. */
  roles?: string[];
  /** A `jose` time span (`"1h"`, `"30d"`) or seconds; default `"24h"`. */
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
}

/** Mint an HS256 token for local use (`apflow token create`). */
export async function createToken(options: CreateTokenOptions): Promise<string> {
  if (!options.secret) throw new Error("createToken needs a secret");
  if (!options.sub) throw new Error("createToken needs a subject (sub)");
  const expiresIn = options.expiresIn ?? "24h";
  let jwt = new SignJWT({ roles: options.roles ?? [] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(typeof expiresIn === "number" ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

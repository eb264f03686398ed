import type { ServerCallContext, User } from "@a2a-js/sdk/server";
import type { Principal } from "../types.js";

/** Our principal as the SDK's `User`, so its stores scope push configs per user. */
export class PrincipalUser implements User {
  constructor(readonly principal: Principal) {}

  get isAuthenticated(): boolean {
    return this.principal.authenticated;
  }

  get userName(): string {
    return this.principal.userId ?? "";
  }
}

export const SECRETS_KEY = "apflow.secrets";
/** Aborted when the client of a streamed A2A response goes away. */
export const ABORT_KEY = "apflow.abort";

/** Who nobody is: a context without our user (a bug or an SDK path we do not know) gets no access. */
export const NOBODY: Principal = Object.freeze({ userId: null, admin: false, authenticated: false });

/** The caller behind an SDK context; fails closed (no user, not admin) when the context has none. */
export function principalOf(context: ServerCallContext | undefined): Principal {
  const user = context?.user;
  return user instanceof PrincipalUser ? user.principal : NOBODY;
}

/** The signal that ends what follows a stream for this request once its client left. */
export function signalOf(context: ServerCallContext | undefined): AbortSignal | undefined {
  return context?.state.get(ABORT_KEY) as AbortSignal | undefined;
}

export function secretsOf(context: ServerCallContext | undefined): Record<string, string> | undefined {
  return context?.state.get(SECRETS_KEY) as Record<string, string> | undefined;
}

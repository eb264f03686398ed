import type { ServerCallContext, User } from "@a2a-js/sdk/server";
import { LOCAL_PRINCIPAL } from "../service/access.js";
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

export function principalOf(context: ServerCallContext | undefined): Principal {
  const user = context?.user;
  return user instanceof PrincipalUser ? user.principal : LOCAL_PRINCIPAL;
}

export function secretsOf(context: ServerCallContext | undefined): Record<string, string> | undefined {
  return context?.state.get(SECRETS_KEY) as Record<string, string> | undefined;
}

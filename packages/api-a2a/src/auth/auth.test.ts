import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { json, rpc, smallTree, testApp } from "../testing/fixtures.js";
import { createToken } from "./token.js";
import { createVerifier } from "./verifier.js";

const SECRET = "test-secret-that-is-long-enough";
const { app, engine } = testApp({ auth: { jwtSecret: SECRET } });
afterAll(() => engine.stop({ graceMs: 0 }));

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("JWT auth and per-user isolation", () => {
  it("requires a valid bearer token except for /health and the agent card", async () => {
    expect((await rpc(app, "system.health")).status).toBe(401);
    const bad = await rpc(app, "system.health", undefined, bearer("not-a-jwt"));
    expect(bad.status).toBe(401);
    expect(bad.body.error?.code).toBe(-32004);
    const wrongKey = await createToken({ secret: "another-secret", sub: "alice" });
    expect((await rpc(app, "system.health", undefined, bearer(wrongKey))).status).toBe(401);
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("mallory")
      .sign(new TextEncoder().encode(SECRET));
    const forever = await rpc(app, "system.health", undefined, bearer(noExp));
    expect(forever.status).toBe(401);
    expect(forever.body.error?.code).toBe(-32004);
    const expired = await createToken({ secret: SECRET, sub: "alice", expiresIn: -10 });
    expect((await rpc(app, "system.health", undefined, bearer(expired))).status).toBe(401);
    expect((await app.request("/health")).status).toBe(200);
    const card = await json(app.request("/.well-known/agent-card.json", { headers: { "A2A-Version": "1.0" } }));
    expect(card.securitySchemes.bearer).toBeDefined();
    expect((await app.request("/mcp", { method: "POST" })).status).toBe(401);
    expect((await app.request("/a2a", { method: "POST", body: "{}" })).status).toBe(401);
  });

  it("accepts only HS256 tokens signed with the secret, with the key imported once", async () => {
    const verify = createVerifier({ jwtSecret: SECRET });
    if (!verify) throw new Error("auth should be on");
    const secret = new TextEncoder().encode(SECRET);
    const [a, b] = await Promise.all([
      verify(await createToken({ secret: SECRET, sub: "alice" })),
      verify(await createToken({ secret: SECRET, sub: "bob", roles: ["admin"] })),
    ]);
    expect(a).toEqual({ userId: "alice", admin: false, authenticated: true });
    expect(b).toEqual({ userId: "bob", admin: true, authenticated: true });
    const hs384 = await new SignJWT({}).setProtectedHeader({ alg: "HS384" }).setSubject("eve").sign(secret);
    await expect(verify(hs384)).rejects.toThrow("invalid or expired token");
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"sub":"eve"}').toString("base64url")}.`;
    await expect(verify(unsigned)).rejects.toThrow("invalid or expired token");
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(secret);
    await expect(verify(noSub)).rejects.toThrow("token has no subject");
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("mallory").sign(secret);
    await expect(verify(noExp)).rejects.toThrow("invalid or expired token");
    expect(await verify(await createToken({ secret: SECRET, sub: "carol" }))).toMatchObject({ userId: "carol" });
  });

  it("keeps two users apart; an admin sees both", async () => {
    const alice = bearer(await createToken({ secret: SECRET, sub: "alice" }));
    const bob = bearer(await createToken({ secret: SECRET, sub: "bob" }));
    const admin = bearer(await createToken({ secret: SECRET, sub: "root", roles: ["admin"] }));

    const created = await rpc(
      app,
      "tasks.create",
      { tasks: smallTree("iso").map((t) => ({ ...t, userId: "bob" })) },
      alice,
    );
    const rootId = created.body.result.rootId as string;
    expect(created.body.result.tasks.every((t: { userId: string }) => t.userId === "alice")).toBe(true);

    for (const [method, params] of [
      ["tasks.get", { taskId: rootId }],
      ["tasks.detail", { taskId: rootId }],
      ["tasks.tree", { taskId: rootId }],
      ["tasks.children", { parentId: rootId }],
      ["tasks.update", { taskId: rootId, priority: 0 }],
      ["tasks.execute", { taskId: rootId }],
      ["tasks.cancel", { taskId: rootId }],
      ["tasks.copy", { taskId: rootId }],
      ["tasks.delete", { taskId: rootId }],
      ["tasks.events", { rootId }],
      ["tasks.count", { rootId }],
    ] as const) {
      const res = await rpc(app, method, params, bob);
      expect(res.status, method).toBe(404);
      expect(res.body.error?.code, method).toBe(-32001);
      expect(JSON.stringify(res.body), method).not.toContain("alice");
    }
    expect((await rpc(app, "tasks.list", {}, bob)).body.result.total).toBe(0);
    expect((await rpc(app, "tasks.count", {}, bob)).body.result.total).toBe(0);
    const status = await rpc(app, "tasks.running.status", { taskIds: [rootId] }, bob);
    expect(status.body.result.statuses[0].found).toBe(false);

    expect((await rpc(app, "tasks.get", { taskId: rootId }, alice)).body.result.userId).toBe("alice");
    expect((await rpc(app, "tasks.list", {}, alice)).body.result.total).toBe(3);
    expect((await rpc(app, "tasks.get", { taskId: rootId }, admin)).status).toBe(200);
    expect((await rpc(app, "tasks.list", { userId: "alice" }, admin)).body.result.total).toBe(3);

    const done = await rpc(app, "tasks.execute", { taskId: rootId, wait: true }, alice);
    expect(done.body.result.status).toBe("completed");
    expect((await engine.store.getTask(rootId))?.status).toBe("completed");
  });

  it("does not let a non-admin learn whether a task id exists", async () => {
    const alice = bearer(await createToken({ secret: SECRET, sub: "alice3" }));
    const bob = bearer(await createToken({ secret: SECRET, sub: "bob3" }));
    const admin = bearer(await createToken({ secret: SECRET, sub: "root", roles: ["admin"] }));
    const made = await rpc(app, "tasks.create", { tasks: [{ id: "bob3-task", name: "b", userId: "bob3" }] }, admin);
    expect(made.body.result.rootId).toBe("bob3-task");
    const answers = [];
    for (const id of ["bob3-task", "free-id-never-used"]) {
      const res = await rpc(app, "tasks.create", { tasks: [{ id, name: "x" }] }, alice);
      answers.push({ status: res.status, code: res.body.error?.code, message: res.body.error?.message });
      expect(JSON.stringify(res.body)).not.toContain("exists");
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({ status: 400, code: -32602 });
    // Bob cannot tell his own task apart from a free id either.
    const own = await rpc(app, "tasks.create", { tasks: [{ id: "bob3-task", name: "x" }] }, bob);
    expect({ status: own.status, code: own.body.error?.code, message: own.body.error?.message }).toEqual(answers[0]);
    // Without ids, references by name still work.
    const byName = await rpc(app, "tasks.create", { tasks: smallTree("named") }, alice);
    expect(byName.status).toBe(200);
  });

  it("isolates A2A and MCP the same way", async () => {
    const alice = bearer(await createToken({ secret: SECRET, sub: "alice2" }));
    const bob = bearer(await createToken({ secret: SECRET, sub: "bob2" }));
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("iso2") }, alice)).body.result;
    const a2a = (headers: Record<string, string>) =>
      json(
        app.request("/a2a", {
          method: "POST",
          headers: { "content-type": "application/json", "A2A-Version": "0.3", ...headers },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks/get", params: { id: rootId } }),
        }),
      );
    expect((await a2a(bob)).error.code).toBe(-32001);
    expect((await a2a(alice)).result.id).toBe(rootId);
  });

  it("verifies tokens from a JWKS URL", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const server = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
      const verify = createVerifier({ jwksUrl: url });
      const token = await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setSubject("carol")
        .setExpirationTime("5m")
        .sign(privateKey);
      expect(await verify?.(token)).toEqual({ userId: "carol", admin: true, authenticated: true });
      const noExp = await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setSubject("carol")
        .sign(privateKey);
      await expect(verify?.(noExp)).rejects.toThrow("invalid or expired token");
      await expect(verify?.(await createToken({ secret: SECRET, sub: "x" }))).rejects.toThrow();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allowedHostsOf } from "./server.js";
import { ConfigError, DEFAULTS, databaseLocation, loadConfig, redactConfig, startDirectory } from "./config.js";

describe("loadConfig", () => {
  it("has local-first defaults", () => {
    expect(loadConfig({})).toEqual(DEFAULTS);
    expect(DEFAULTS.port).toBe(8000);
    expect(DEFAULTS.host).toBe("127.0.0.1");
  });

  it("reads the environment", () => {
    const c = loadConfig({
      PORT: "9001",
      HOST: "0.0.0.0",
      DATABASE_URL: "file:./a.db",
      APFLOW_PLUGINS: "@aipartnerupflow/ext-stdio, @aipartnerupflow/ext-llm-agents",
      APFLOW_EXECUTORS: "echo,system_info",
      APFLOW_JWT_SECRET: "s",
      APFLOW_CORS_ORIGINS: "http://a.test,http://b.test",
      APFLOW_DEMO: "true",
      APFLOW_RATE_LIMIT: "50",
    });
    expect(c).toMatchObject({
      port: 9001,
      host: "0.0.0.0",
      databaseUrl: "file:./a.db",
      plugins: ["@aipartnerupflow/ext-stdio", "@aipartnerupflow/ext-llm-agents"],
      executors: ["echo", "system_info"],
      jwtSecret: "s",
      corsOrigins: ["http://a.test", "http://b.test"],
      demo: true,
      rateLimit: { perSecond: 50, burst: 100 },
    });
    expect(loadConfig({ DATABASE_URL: "file:b", APFLOW_DATABASE_URL: "file:a" }).databaseUrl).toBe("file:a");
  });

  it("reads the compatibility surface settings", () => {
    expect(loadConfig({})).toMatchObject({ compat: true, compatPath: "/compat", compatStoredLlmKeys: true });
    expect(
      loadConfig({ APFLOW_COMPAT: "off", APFLOW_COMPAT_PATH: "/python", APFLOW_COMPAT_LLM_KEYS: "false" }),
    ).toMatchObject({ compat: false, compatPath: "/python", compatStoredLlmKeys: false });
    expect(() => loadConfig({ APFLOW_COMPAT_PATH: "python/" })).toThrow(/APFLOW_COMPAT_PATH/);
    expect(() => loadConfig({ APFLOW_COMPAT: "maybe" })).toThrow(/APFLOW_COMPAT/);
  });

  it("reads the required JWT issuer and audience", () => {
    expect(loadConfig({ APFLOW_JWT_ISSUER: "https://idp.test", APFLOW_JWT_AUDIENCE: "apflow" })).toMatchObject({
      jwtIssuer: "https://idp.test",
      jwtAudience: "apflow",
    });
  });

  it("reads the webhook host allow-list", () => {
    expect(loadConfig({ APFLOW_WEBHOOK_ALLOW_HOSTS: "hooks.internal, 127.0.0.1:9000" }).webhookAllowHosts).toEqual([
      "hooks.internal",
      "127.0.0.1:9000",
    ]);
  });

  it("reads the allowed host names, and allows the public URL's host too", () => {
    const config = loadConfig({ APFLOW_ALLOWED_HOSTS: "api.example.com, tasks.example.com:8443" });
    expect(config.allowedHosts).toEqual(["api.example.com", "tasks.example.com:8443"]);
    expect(allowedHostsOf({ ...config, publicUrl: "https://public.example.com/base" })).toEqual([
      "api.example.com",
      "tasks.example.com:8443",
      "public.example.com",
    ]);
    expect(allowedHostsOf(DEFAULTS)).toEqual([]);
  });

  it("merges a JSON config file under the environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-config-"));
    const path = join(dir, "config.json");
    writeFileSync(path, JSON.stringify({ port: 7000, plugins: ["x"], pluginOptions: { x: { a: 1 } } }));
    expect(loadConfig({ APFLOW_CONFIG: path })).toMatchObject({
      port: 7000,
      plugins: ["x"],
      pluginOptions: { x: { a: 1 } },
    });
    expect(loadConfig({ APFLOW_CONFIG: path, PORT: "7001" }).port).toBe(7001);
    writeFileSync(path, JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ APFLOW_CONFIG: path })).toThrow(/unknown keys prot/);
  });

  it("serves the dashboard unless APFLOW_DASHBOARD turns it off", () => {
    expect(loadConfig({}).dashboard).toBe(true);
    expect(loadConfig({ APFLOW_DASHBOARD: "0" }).dashboard).toBe(false);
    expect(loadConfig({ APFLOW_DASHBOARD: "on" }).dashboard).toBe(true);
    expect(() => loadConfig({ APFLOW_DASHBOARD: "sometimes" })).toThrow(/APFLOW_DASHBOARD must be true or false/);
  });

  it("refuses invalid values by name", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(ConfigError);
    expect(() => loadConfig({ APFLOW_DEMO: "maybe" })).toThrow(/APFLOW_DEMO/);
    expect(() => loadConfig({ APFLOW_JWT_SECRET: "a", APFLOW_JWKS_URL: "http://x" })).toThrow(/not both/);
  });

  it("never shows secrets when logged", () => {
    const shown = JSON.stringify(
      redactConfig(loadConfig({ APFLOW_JWT_SECRET: "hunter2", DATABASE_URL: "postgres://u:pw@h/db" })),
    );
    expect(shown).not.toContain("hunter2");
    expect(shown).not.toContain("pw@");
  });

  it("blanks credentials and password parameters of the database URL", () => {
    const redact = (url: string) => redactConfig({ ...DEFAULTS, databaseUrl: url }).databaseUrl as string;
    for (const url of [
      "postgres://svc:s3cr3t@db.internal:5432/apflow",
      "postgres://db.internal/apflow?user=svc&password=s3cr3t&sslmode=require",
      "postgresql://db.internal/apflow?PWD=s3cr3t",
      "postgres://db.internal/apflow?pass=s3cr3t",
      "postgres://s3cr3t@db.internal/apflow",
    ]) {
      const shown = redact(url);
      expect(shown, url).not.toMatch(/s3cr3t|p@ss|w0rd/);
      expect(shown, url).toContain("db.internal");
    }
    expect(redact("postgres://db.internal/apflow?sslmode=require")).toBe(
      "postgres://db.internal/apflow?sslmode=require",
    );
    expect(redact("file:./data/apflow.db")).toBe("file:./data/apflow.db");
    expect(redact("not a url :: pw@host")).toBe("[set]");
    // A password with an unencoded "/" defeated the old pattern; it is not shown at all.
    expect(redact("postgres://svc:p@ss/w0rd@db.internal/apflow")).toBe("[set]");
  });
});

describe("where the database is", () => {
  it("relative paths are relative to where the user started: INIT_CWD inside a package script", () => {
    expect(startDirectory({ npm_lifecycle_event: "start", INIT_CWD: "/repo" }, "/repo/apps/server")).toBe("/repo");
    // INIT_CWD alone (inherited from an outer script) does not count.
    expect(startDirectory({ INIT_CWD: "/elsewhere" }, "/work")).toBe("/work");
    expect(startDirectory({}, "/work")).toBe("/work");
  });

  it("resolves SQLite paths against the start directory and leaves server URLs alone", () => {
    expect(databaseLocation(undefined, "/repo")).toBe("/repo/.apflow/apflow.db");
    expect(databaseLocation("  ", "/repo")).toBe("/repo/.apflow/apflow.db");
    expect(databaseLocation("data/a.db", "/repo")).toBe("/repo/data/a.db");
    expect(databaseLocation("/abs/a.db", "/repo")).toBe("/abs/a.db");
    expect(databaseLocation("file:./a.db", "/repo")).toBe("file:/repo/a.db");
    expect(databaseLocation("file:a.db?mode=rwc", "/repo")).toBe("file:/repo/a.db?mode=rwc");
    expect(databaseLocation("file:///abs/a.db", "/repo")).toBe("file:///abs/a.db");
    expect(databaseLocation("postgres://u@h/db", "/repo")).toBe("postgres://u@h/db");
    expect(databaseLocation("mystore://bucket/x", "/repo")).toBe("mystore://bucket/x");
    expect(databaseLocation(":memory:", "/repo")).toBe(":memory:");
  });

  it("a relative path in the config file is relative to the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-config-"));
    const path = join(dir, "config.json");
    writeFileSync(path, JSON.stringify({ databaseUrl: "db/apflow.db" }));
    expect(loadConfig({ APFLOW_CONFIG: path }).databaseUrl).toBe(join(dir, "db/apflow.db"));
  });
});

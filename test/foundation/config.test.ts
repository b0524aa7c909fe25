import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../../core/config.ts";
import { ROOT } from "../../core/database/migrate.ts";

describe("configuration", () => {
  it("names a missing JWT_SECRET in one line", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://x@127.0.0.1/db" })).toThrow(
      new ConfigError("config: JWT_SECRET is required when DATABASE_URL is set (at least 32 characters)"),
    );
  });

  it("names a malformed variable", () => {
    expect(() => loadConfig({ PORT: "eighty", JWT_SECRET: "x".repeat(32) })).toThrow(/^config: PORT must be a positive whole number/);
    expect(() => loadConfig({ JWT_SECRET: "short" })).toThrow(/^config: JWT_SECRET must be at least 32 characters/);
    expect(() => loadConfig({ JWT_SECRET: "x".repeat(32), NEXT_PUBLIC_VAPID_PUBLIC_KEY: "abc" })).toThrow(
      "config: VAPID_PRIVATE_KEY is required when the other VAPID key is set",
    );
  });

  it("reads DATABASE_POOL_SIZE (default 10) and names a bad one", () => {
    expect(loadConfig({ JWT_SECRET: "x".repeat(32) }).databasePoolSize).toBe(10);
    expect(loadConfig({ JWT_SECRET: "x".repeat(32), DATABASE_POOL_SIZE: "4" }).databasePoolSize).toBe(4);
    expect(() => loadConfig({ JWT_SECRET: "x".repeat(32), DATABASE_POOL_SIZE: "0" })).toThrow(/^config: DATABASE_POOL_SIZE must be a positive whole number/);
  });

  it("production needs a real database", () => {
    expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) })).toThrow(
      "config: DATABASE_URL is required when NODE_ENV=production",
    );
  });

  it("adds the Vite dev origin outside production only", () => {
    const dev = loadConfig({ JWT_SECRET: "x".repeat(32), CORS_ORIGINS: "https://a.example, https://b.example" });
    expect(dev.corsOrigins).toEqual(["https://a.example", "https://b.example", "http://localhost:5173"]);
    const prod = loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://h/db", JWT_SECRET: "x".repeat(32), CORS_ORIGINS: "https://a.example" });
    expect(prod.corsOrigins).toEqual(["https://a.example"]);
  });

  it("reads PUSH_ALLOWED_HOSTS into host:port entries, and names a malformed entry in one line", () => {
    const base = { JWT_SECRET: "x".repeat(32) };
    expect(loadConfig(base).push.allowedHosts, "unset: the database's default list").toBeUndefined();
    expect(loadConfig({ ...base, PUSH_ALLOWED_HOSTS: " Push.Example.org, *.push.example.net:8443,127.0.0.1:*,[::1]:443 ," }).push.allowedHosts).toBe(
      "push.example.org:443,*.push.example.net:8443,127.0.0.1:*,[::1]:443",
    );
    for (const [value, says] of [
      ["127.1", "is not an IPv4 address in dotted-decimal form"],
      ["2130706433:*", "is not an IPv4 address in dotted-decimal form"],
      ["*.10.0.0.1", "is not an IPv4 address in dotted-decimal form"],
      ["[::ffff:127.0.0.1]", "is not an IPv6 address as a URL writes it"],
      ["https://fcm.googleapis.com", "is not host, host:port, *.host or host:*"],
      ["user@fcm.googleapis.com", "is not host, host:port, *.host or host:*"],
      ["fcm.googleapis.com:0", "has no valid port"],
      ["-bad.example", "is not a host name"],
      [" , ", "lists no host"],
    ] as const) {
      expect(() => loadConfig({ ...base, PUSH_ALLOWED_HOSTS: value }), value).toThrow(new RegExp(`^config: PUSH_ALLOWED_HOSTS .*${says.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    }
    expect(() => loadConfig({ ...base, PUSH_TIMEOUT_MS: "0" })).toThrow(/^config: PUSH_TIMEOUT_MS must be a positive whole number/);
  });

  it(".env.example lists every variable the server, the worker and the CLI read", () => {
    // Names, set or commented out (`# NEXUS_URL=`), at the start of a line.
    const listed = new Set([...readFileSync(path.join(ROOT, ".env.example"), "utf8").matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    // Read outside core/config.ts: the doctor's server (cli/doctor.ts), `db login-password`'s password (cli/nexus.ts).
    const cli = ["NEXUS_URL", "NEXUS_AUTHENTICATOR_PASSWORD"];
    expect([...CONFIG_VARIABLES, ...cli].filter((name) => !listed.has(name))).toEqual([]);
  });

  it("npm start exits non-zero with one line naming the missing variable", () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, "main.ts")], {
      env: { PATH: process.env.PATH, DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe("config: JWT_SECRET is required when DATABASE_URL is set (at least 32 characters)");
  });
});

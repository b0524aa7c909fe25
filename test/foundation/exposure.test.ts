/**
 * What a production server shows to anyone who can reach it (issue 11, finding 8): /metrics only with
 * `Authorization: Bearer $METRICS_TOKEN` when that is set; Ruru (/graphiql) on in development, off in production
 * unless GRAPHIQL=true (test/graphql/limits.test.ts checks the production side over HTTP).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const TOKEN = "metrics-token-for-tests-0123456789";
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ env: { NODE_ENV: "production", METRICS_TOKEN: TOKEN } });
});
afterAll(async () => t?.close());

describe("GET /metrics with METRICS_TOKEN set", () => {
  it("refuses a scrape without the token, with another token or scheme, and answers the right one", async () => {
    for (const authorization of [undefined, "", `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, "Bearer"]) {
      const res = await fetch(`${t.baseUrl}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, String(authorization)).toBe(401);
      expect(await res.json()).toEqual({ error: "UNAUTHENTICATED", message: expect.any(String) });
    }
    const ok = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# TYPE nexus_http_request_duration_seconds histogram/m);
  });
});

describe("configuration", () => {
  const base = { DATABASE_URL: "postgres://h/db", JWT_SECRET: "x".repeat(32) };
  it("GRAPHIQL defaults on outside production and off in production", () => {
    expect(loadConfig({ ...base, NODE_ENV: "development" }).graphiql).toBe(true);
    expect(loadConfig({ ...base, NODE_ENV: "production" }).graphiql).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: "production", GRAPHIQL: "true" }).graphiql).toBe(true);
    expect(() => loadConfig({ ...base, GRAPHIQL: "yes" })).toThrow('config: GRAPHIQL must be "true" or "false"');
  });
  it("STATEMENT_TIMEOUT_MS defaults to 5000, DATABASE_OWNER_URL to DATABASE_URL, METRICS_TOKEN needs 16 characters", () => {
    expect(loadConfig(base)).toMatchObject({ statementTimeoutMs: 5000, databaseOwnerUrl: base.DATABASE_URL, metricsToken: undefined });
    expect(loadConfig({ ...base, DATABASE_OWNER_URL: "postgres://owner@h/db" }).databaseOwnerUrl).toBe("postgres://owner@h/db");
    expect(() => loadConfig({ ...base, STATEMENT_TIMEOUT_MS: "0" })).toThrow(/config: STATEMENT_TIMEOUT_MS must be a positive whole number/);
    expect(() => loadConfig({ ...base, METRICS_TOKEN: "short" })).toThrow("config: METRICS_TOKEN must be at least 16 characters");
  });
});

/** The accounts settings: defaults, one clear line for a bad value, and ALLOW_SERVICE_ROLE_TOKENS when it is on. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config.ts";
import { signJwt } from "../../core/jwt.ts";
import { createMember } from "../support/members.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const base = { JWT_SECRET: "x".repeat(32) };

describe("accounts configuration", () => {
  it("defaults: 1 h access tokens, 10 failed sign-ins, 30 sign-ups an hour, 30 sign-ins per 5 minutes, 10 password changes an hour, no proxy believed, no service_role over HTTP", () => {
    const config = loadConfig(base);
    expect(config.jwt.ttlSeconds).toBe(3600);
    expect(config.auth).toEqual({
      maxFailedLogins: 10,
      maxFailedLoginsPerAddress: 50,
      maxFailedLoginsPerAccount: 100,
      signupsPerHour: 30,
      maxLoginsPerAddress: 30,
      passwordChangesPerHour: 10,
      allowServiceRoleTokens: false,
      passwordChangeRequiresCurrent: false,
    });
    expect(config.trustProxy).toBe(false);
  });

  it("reads TRUST_PROXY as true, a hop count or proxy addresses", () => {
    expect(loadConfig({ ...base, TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ ...base, TRUST_PROXY: "1" }).trustProxy).toBe(1);
    expect(loadConfig({ ...base, TRUST_PROXY: "loopback, 10.0.0.0/8" }).trustProxy).toEqual(["loopback", "10.0.0.0/8"]);
  });

  it("names a malformed value in one line", () => {
    expect(() => loadConfig({ ...base, TRUST_PROXY: "everyone" })).toThrow(/^config: TRUST_PROXY must be false, true, a hop count/);
    expect(() => loadConfig({ ...base, ALLOW_SERVICE_ROLE_TOKENS: "yes" })).toThrow(/^config: ALLOW_SERVICE_ROLE_TOKENS must be true or false/);
    expect(() => loadConfig({ ...base, AUTH_MAX_FAILED_LOGINS: "0" })).toThrow(/^config: AUTH_MAX_FAILED_LOGINS must be a positive whole number/);
    expect(() => loadConfig({ ...base, AUTH_MAX_LOGINS_PER_ADDRESS: "-1" })).toThrow(/^config: AUTH_MAX_LOGINS_PER_ADDRESS must be a positive whole number/);
    expect(() => loadConfig({ ...base, AUTH_PASSWORD_CHANGES_PER_HOUR: "ten" })).toThrow(/^config: AUTH_PASSWORD_CHANGES_PER_HOUR must be a positive whole number/);
  });
});

describe("ALLOW_SERVICE_ROLE_TOKENS=true", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { NODE_ENV: "production", ALLOW_SERVICE_ROLE_TOKENS: "true" } });
  });
  afterAll(async () => t?.close());

  it("lets a service_role JWT through, with RLS bypassed as the operator asked", async () => {
    await createMember(t.pool, "SCOUT");
    const serviceKey = await signJwt(TEST_JWT_SECRET, { role: "service_role" }, 3600);
    const res = await t.graphql("{ profiles { totalCount } }", {}, serviceKey);
    expect(res.status).toBe(200);
    expect(res.body.data.profiles.totalCount).toBe(1);
  });
});

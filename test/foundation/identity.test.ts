import { SignJWT, UnsecuredJWT } from "jose";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretKey } from "../../core/jwt.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { until } from "../support/eventually.ts";
import { createMember } from "../support/members.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

let t: TestServer;
let acquired = 0;

beforeAll(async () => {
  t = await startTestServer();
  t.pool.on("acquire", () => acquired++);
});
afterAll(async () => t?.close());

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { jwtToken userId } }`;
const AUTHENTICATE = `mutation($input: AuthenticateInput!) { authenticate(input: $input) { jwtToken userId } }`;
const ME = `{ currentProfile { id callsign rank } }`;

describe("register and authenticate", () => {
  it("registers a VAGRANT and signs them in with the JWT it returns", async () => {
    const reg = await t.graphql(REGISTER, { input: { email: "Nova@Example.org", password: "stardust-42", callsign: "Nova" } });
    expect(reg.body.errors).toBeUndefined();
    const { jwtToken, userId } = reg.body.data.register;
    const me = await t.graphql(ME, {}, jwtToken);
    expect(me.body.data.currentProfile).toEqual({ id: userId, callsign: "Nova", rank: "VAGRANT" });

    const auth = await t.graphql(AUTHENTICATE, { input: { email: "nova@example.org", password: "stardust-42" } });
    expect(auth.body.data.authenticate.userId).toBe(userId);
    const again = await t.graphql(ME, {}, auth.body.data.authenticate.jwtToken);
    expect(again.body.data.currentProfile.callsign).toBe("Nova");
  });

  it("refuses a wrong password with UNAUTHENTICATED and a duplicate email with CONFLICT", async () => {
    const bad = await t.graphql(AUTHENTICATE, { input: { email: "nova@example.org", password: "not-the-one" } });
    expect(bad.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
    const dup = await t.graphql(REGISTER, { input: { email: "nova@example.org", password: "whatever-123", callsign: "Nova2" } });
    expect(dup.body.errors?.[0].extensions.code).toBe("CONFLICT");
    const weak = await t.graphql(REGISTER, { input: { email: "weak@example.org", password: "short", callsign: "Weak" } });
    expect(weak.body.errors?.[0]).toMatchObject({ message: "password must be 8 to 72 characters", extensions: { code: "BAD_REQUEST" } });
  });
});

describe("JWT verification at the HTTP edge", () => {
  const member = () => createMember(t.pool, "SCOUT");

  async function expectRejected(token: string, reason: RegExp) {
    const before = acquired;
    const res = await t.graphql(ME, {}, token);
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(res.body.errors?.[0].message).toMatch(reason);
    expect(acquired, "no database connection was taken for a rejected token").toBe(before);
  }

  it("accepts a valid token", async () => {
    const m = await member();
    const res = await t.graphql(ME, {}, m.token);
    expect(res.status).toBe(200);
    expect(res.body.data.currentProfile.rank).toBe("SCOUT");
  });

  it("rejects a token signed with another secret", async () => {
    const m = await member();
    const forged = await new SignJWT({ role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(m.id)
      .setExpirationTime("1h")
      .sign(secretKey("another-secret-another-secret-another-secret"));
    await expectRejected(forged, /signature/);
  });

  it("rejects a tampered payload", async () => {
    const m = await member();
    const [h, p, s] = m.token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    claims.role = "service_role";
    await expectRejected(`${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`, /signature/);
  });

  it("rejects the member's own token with its signature's text altered in bits base64url leaves unused", async () => {
    const m = await member();
    const [h, p, s] = m.token.split(".") as [string, string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // 43 characters for 32 bytes: the last character's two low bits carry nothing.
    const altered = s.slice(0, -1) + alphabet[alphabet.indexOf(s.at(-1)!) ^ 1];
    expect(Buffer.from(altered, "base64url")).toEqual(Buffer.from(s, "base64url"));
    await expectRejected(`${h}.${p}.${altered}`, /not canonical base64url/);
  });

  it("rejects alg: none", async () => {
    const m = await member();
    const unsigned = new UnsecuredJWT({ role: "authenticated" }).setSubject(m.id).setExpirationTime("1h").encode();
    await expectRejected(unsigned, /algorithm|malformed/);
  });

  it("rejects an expired token", async () => {
    const m = await member();
    const expired = await new SignJWT({ role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(m.id)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(secretKey(TEST_JWT_SECRET));
    await expectRejected(expired, /expired/);
  });

  it("rejects an unknown role claim, such as postgres", async () => {
    const m = await member();
    const superuser = await new SignJWT({ role: "postgres" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(m.id)
      .setExpirationTime("1h")
      .sign(secretKey(TEST_JWT_SECRET));
    await expectRejected(superuser, /role/);
  });

  it("rejects a token with no expiry and a non-bearer header", async () => {
    const m = await member();
    const forever = await new SignJWT({ role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(m.id)
      .sign(secretKey(TEST_JWT_SECRET));
    await expectRejected(forever, /exp/);
    const res = await fetch(`${t.baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
      body: JSON.stringify({ query: ME }),
    });
    expect(res.status).toBe(401);
  });

  it("rejects a token that is not valid yet, or carries critical header extensions", async () => {
    const m = await member();
    const future = await new SignJWT({ role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(m.id)
      .setNotBefore(Math.floor(Date.now() / 1000) + 600)
      .setExpirationTime("1h")
      .sign(secretKey(TEST_JWT_SECRET));
    await expectRejected(future, /not valid yet/);
    const crit = await new SignJWT({ role: "authenticated" })
      .setProtectedHeader({ alg: "HS256", crit: ["b64"], b64: true })
      .setSubject(m.id)
      .setExpirationTime("1h")
      .sign(secretKey(TEST_JWT_SECRET));
    await expectRejected(crit, /critical/);
  });

  it("accepts a token minted by Supabase with the same secret, unchanged", async () => {
    const m = await member();
    const supabase = await new SignJWT({
      aud: "authenticated",
      role: "authenticated",
      email: "scout@example.org",
      phone: "",
      app_metadata: { provider: "email", providers: ["email"] },
      user_metadata: {},
      aal: "aal1",
      amr: [{ method: "password", timestamp: 1700000000 }],
      session_id: "3e6f7b4c-2a35-4c39-9c3e-1a6b0e5e9d11",
      is_anonymous: false,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer("https://project.supabase.co/auth/v1")
      .setSubject(m.id)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(secretKey(TEST_JWT_SECRET));
    const res = await t.graphql(ME, {}, supabase);
    expect(res.status).toBe(200);
    expect(res.body.data.currentProfile.id).toBe(m.id);
  });

  it("treats a request without a token as anon, which cannot read profiles and is told to sign in", async () => {
    const res = await t.graphql(`{ profiles { nodes { callsign } } }`);
    expect(res.status).toBe(200);
    expect(res.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
  });
});

describe("schema surface", () => {
  it("exposes no mutation that creates or deletes profiles or writes presence", async () => {
    const res = await t.graphql(`{ __schema { mutationType { fields { name } } } }`);
    const names = res.body.data.__schema.mutationType.fields.map((f: { name: string }) => f.name);
    expect(names).toContain("setMemberRank");
    for (const forbidden of ["createProfile", "deleteProfile", "createVoicePresence", "updateVoicePresence", "deleteVoicePresence"]) {
      expect(names).not.toContain(forbidden);
    }
  });

  it("answers an unknown rank with BAD_REQUEST, not a permission error", async () => {
    const m = await createMember(t.pool, "FOUNDER");
    const res = await t.graphql(`{ parseRank(name: "admiral") }`, {}, m.token);
    expect(res.body.errors?.[0]).toMatchObject({ extensions: { code: "BAD_REQUEST" } });
    expect(res.body.errors?.[0].message).toMatch(/unknown rank 'admiral'/);
  });
});

describe("health", () => {
  it("answers /healthz and /readyz", async () => {
    expect(await (await fetch(`${t.baseUrl}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${t.baseUrl}/readyz`)).json()).toEqual({ status: "ready" });
  });

  it("says /readyz 503 when the database is gone, without telling an anonymous caller why; no answer is cached", async () => {
    const prod = await startTestServer({ env: { NODE_ENV: "production", ...LIVEKIT_ENV } });
    const database = new URL(prod.db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: prod.db.url.replace(`/${database}`, "/postgres") });
    await admin.connect();
    try {
      const ready = await fetch(`${prod.baseUrl}/readyz`);
      expect(ready.headers.get("cache-control")).toBe("no-store");
      expect(ready.headers.get("etag")).toBeNull();
      // Gone: renamed away, after its connections are cut (the subscriptions' listener reconnects, so until it sticks).
      await until("the database renamed away", async () => {
        await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [database]);
        return admin.query(`alter database "${database}" rename to "${database}_gone"`).then(() => true, () => false);
      });
      const res = await fetch(`${prod.baseUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unavailable", error: "UNAVAILABLE", message: "the database is not answering" });
    } finally {
      await admin.query(`alter database "${database}_gone" rename to "${database}"`).catch(() => undefined);
      await admin.end();
      await prod.close();
    }
  });

  it("serves Ruru at /graphiql", async () => {
    const res = await fetch(`${t.baseUrl}/graphiql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/ruru/i);
  });
});

import http from "node:http";
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { signJwt } from "../../core/jwt.ts";
import { modules } from "../../server/modules.ts";
import { LIVEKIT_ENV, signWebhook } from "../support/livekit.ts";
import { createMember, RANKS, tokenFor } from "../support/members.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

/**
 * Malformed requests across every runbook route (each module's /functions/v1 routes and the webhook shim):
 * broken JSON, wrong types, missing fields, oversized and deeply nested bodies, bad Authorization headers, wrong
 * methods and content types. None may be a 5xx, every error is the JSON `{ error, message }` body, the server
 * stays up, and nothing is written: the row count of every public table, the job queue and the audit log are
 * the same afterwards. Bounded: a fixed number of requests over loopback, 8 at a time, with a time limit.
 *
 * Seeded, so a failure replays: FUZZ_SEED=<n> npm test vitest test/compat/fuzz.test.ts
 */
const SEED = Number(process.env.FUZZ_SEED ?? 7);
const REQUESTS = 2400;
const CONCURRENCY = 8;
const TIME_LIMIT_MS = 120_000;

let t: TestServer;
const vapid = webpush.generateVAPIDKeys();
let REST_ROUTES: string[] = [];
const WEBHOOK_PATHS = ["/livekit/webhook", "/functions/v1/livekit-webhook"];

/** Every field any runbook route reads (and a few it does not), so wrong types reach each schema. */
const FIELDS = [
  "roomName", "participantName", "identity", "role", "netId", "sourceNetId", "targetNetId", "action", "endpoint",
  "auth", "p256dh", "keys", "location", "flareType", "skillId", "requestId", "simPodId", "__proto__", "constructor",
];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/**
 * Values that reach Postgres or a parser in ways plain wrong types do not: a NUL byte (Postgres text cannot hold
 * it: SQLSTATE 22021), lone UTF-16 surrogates, numbers past every integer type, and deeply nested JSON.
 */
function deepJson(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { deeper: value };
  return value;
}
const HOSTILE_VALUES: unknown[] = [
  "a\u0000b",
  "\u0000",
  "Stanton\u0000III",
  "\ud800",
  "lone \udfff surrogate",
  "\udbff\udbff",
  1e308,
  -1e308,
  2 ** 53 + 2,
  -(2 ** 63),
  9_223_372_036_854_775_808,
  deepJson(500),
];

/** Values of the wrong kind for every field: none is a valid flare type, action, device key or pair of nets. */
function wrongValue(): unknown {
  return pick<() => unknown>([
    () => 42,
    () => -1.5e308,
    () => true,
    () => null,
    () => [],
    () => [1, "two", { three: 3 }],
    () => ({}),
    () => ({ nested: { deeper: ["x"] } }),
    () => "",
    () => " ",
    () => "'; drop table public.voice_nets; --",
    () => "\u0000\u0001\u0002",
    () => "🚀".repeat(50),
    ...HOSTILE_VALUES.map((value) => () => value),
    () => "not-a-uuid",
    () => "00000000-0000-0000-0000-00000000000g",
    () => "x".repeat(5000),
    () => "NOT_A_FLARE_TYPE",
    () => "relink",
    () => { return { $gt: "" }; },
  ])();
}

function malformedBody(): { body: Buffer | string; contentType?: string } {
  const kind = Math.floor(random() * 13);
  switch (kind) {
    case 0:
      return { body: pick(['{"roomName":', "{'roomName':'test-room'}", "[1,2", "{", "}", "nul", "tru", '{"a":1,}', '{"a" 1}', "\u00ff\u00fe{}"]) };
    case 1:
      return { body: pick(['"just a string"', "123", "null", "true", "[]", "[{}]", "0", "-0", "1e999"]) };
    case 2:
      return { body: "" };
    case 3: {
      // wrong types for one to four fields
      const body: Record<string, unknown> = {};
      const n = 1 + Math.floor(random() * 4);
      for (let i = 0; i < n; i++) body[pick(FIELDS)] = wrongValue();
      return { body: JSON.stringify(body) };
    }
    case 4: {
      // plausible names, but always one field missing or a flare type / action / key that cannot be valid
      return {
        body: JSON.stringify(
          pick([
            { participantName: "TestUser" },
            { sourceNetId: crypto.randomUUID(), action: "link" },
            { sourceNetId: crypto.randomUUID(), targetNetId: crypto.randomUUID(), action: "merge" },
            { endpoint: "https://fcm.googleapis.com/fcm/send/xxx", auth: "auth-string-here" },
            { endpoint: "https://fcm.googleapis.com/fcm/send/xxx", auth: "auth-string-here", p256dh: "p256dh-key-here" },
            { location: "Stanton III - Crusader" },
            { location: "Stanton III - Crusader", flareType: "MEDICAL-ish" },
            { flareType: "MEDICAL" },
            { skillId: "uuid-of-skill" },
            { requestId: "uuid-from-step-1" },
            {},
          ]),
        ),
      };
    }
    case 5:
      // over 64 KiB (the REST limit; the webhook's limit is 1 MiB)
      return { body: JSON.stringify({ roomName: "test-room", pad: "x".repeat(70 * 1024) }) };
    case 6: {
      const depth = 2000 + Math.floor(random() * 20000);
      return { body: "[".repeat(depth) + "]".repeat(depth) };
    }
    case 7: {
      const depth = 1000 + Math.floor(random() * 5000);
      return { body: '{"a":'.repeat(depth) + "1" + "}".repeat(depth) };
    }
    case 8:
      return { body: Buffer.from(Array.from({ length: 64 + Math.floor(random() * 512) }, () => Math.floor(random() * 256))) };
    case 9:
      return { body: "roomName=test-room&participantName=x", contentType: "application/x-www-form-urlencoded" };
    case 11: {
      // Invalid UTF-8 inside a JSON string (a lone continuation byte, an overlong NUL, a truncated sequence).
      const bad = pick([Buffer.from([0x80]), Buffer.from([0xc0, 0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0xff, 0xfe])]);
      return { body: Buffer.concat([Buffer.from('{"roomName":"'), bad, Buffer.from('","location":"x'), bad, Buffer.from('","flareType":"MEDICAL'), bad, Buffer.from('"}')]) };
    }
    case 10:
      return { body: "--b\r\nContent-Disposition: form-data; name=\"roomName\"\r\n\r\ntest-room\r\n--b--", contentType: "multipart/form-data; boundary=b" };
    default:
      return { body: JSON.stringify({ roomName: 12, participantName: ["a"], flareType: 7, action: 0 }), contentType: "text/plain" };
  }
}

const fixedBadTokens: string[] = [];

function b64(value: unknown) {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

async function makeBadTokens(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const sub = crypto.randomUUID();
  const hs = (header: object, payload: object, secret = TEST_JWT_SECRET) => {
    const data = `${b64(header)}.${b64(payload)}`;
    return `${data}.${createHmac("sha256", secret).update(data).digest("base64url")}`;
  };
  fixedBadTokens.push(
    `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub, role: "authenticated", exp: now + 600 })}.`,
    hs({ alg: "HS256" }, { sub, role: "authenticated", exp: now + 600 }, "some-other-secret-some-other-secret-0000"),
    hs({ alg: "HS256" }, { sub, role: "authenticated", exp: now - 10 }),
    hs({ alg: "HS256" }, { sub, role: "supabase_admin", exp: now + 600 }),
    hs({ alg: "HS256" }, { sub: "uuid-123", role: "authenticated", exp: now + 600 }),
    hs({ alg: "HS256" }, { sub, role: "authenticated" }),
    hs({ alg: "HS512" }, { sub, role: "authenticated", exp: now + 600 }),
    hs({ alg: "HS256", crit: ["b64"] }, { sub, role: "authenticated", exp: now + 600 }),
    hs({ alg: "HS256" }, ["not", "an", "object"]),
    await signJwt(TEST_JWT_SECRET, { role: "anon" }, 600),
    "YOUR_JWT_TOKEN",
    "a.b.c",
    "....",
    "e30.e30.e30",
  );
}

function badAuthorization(memberTokens: string[]): string | undefined {
  const token = pick(memberTokens);
  return pick<() => string | undefined>([
    () => undefined,
    () => "",
    () => "Bearer",
    () => "Bearer ",
    () => `Basic ${Buffer.from("a:b").toString("base64")}`,
    () => `Bearer ${pick(fixedBadTokens)}`,
    () => `Bearer ${token} extra`,
    () => `Token ${token}`,
    () => `Bearer ${token.slice(0, -3)}abc`,
    () => `Bearer ${token}`,
    () => `Bearer ${token}`,
    () => `Bearer ${token}`,
    () => `Bearer ${"A".repeat(6000)}`,
  ])();
}

interface Answer {
  label: string;
  status: number;
  body: string;
  contentType: string | undefined;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(method: string, path: string, headers: Record<string, string>, body: Buffer | string | undefined, label: string): Promise<Answer> {
  const url = new URL(t.baseUrl);
  const sendsBody = body !== undefined && method !== "GET" && method !== "HEAD";
  // Framed with Content-Length whatever the method: Node's client sends an OPTIONS or DELETE body unframed
  // otherwise, which is a broken request stream rather than a malformed request.
  if (sendsBody) headers = { ...headers, "content-length": String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers, agent, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ label, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), contentType: res.headers["content-type"] }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout: ${label}`)));
    req.on("error", (error) => reject(new Error(`${error.message}: ${label}`)));
    if (sendsBody) req.end(body);
    else req.end();
  });
}

/** One malformed request: a route, then what is wrong with it. */
async function oneRequest(i: number, memberTokens: string[]): Promise<Answer> {
  const webhook = random() < 0.2;
  const path = webhook ? pick(WEBHOOK_PATHS) : `/functions/v1/${pick(REST_ROUTES)}`;
  const method = random() < 0.12 ? pick(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) : "POST";
  const { body, contentType } = malformedBody();
  const headers: Record<string, string> = { "content-type": contentType ?? pick(["application/json", "application/json", "application/webhook+json", "application/json; charset=utf-16"]) };
  if (webhook) {
    // Unsigned, junk, a signature over another body, or one made with another secret: all 401 before any parse.
    const mode = Math.floor(random() * 5);
    if (mode === 1) headers.authorization = pick(["YOUR_HMAC_SIGNATURE", "Bearer x", "sha256=abc"]);
    if (mode === 2) headers.authorization = await signWebhook("{}");
    if (mode === 3) headers.authorization = await signWebhook(String(body), { secret: "wrong-secret-wrong-secret-wrong-secret-00" });
    if (mode === 4) headers.authorization = await signWebhook(String(body), { key: "APIunknown" });
  } else {
    const authorization = badAuthorization(memberTokens);
    if (authorization !== undefined) headers.authorization = authorization;
  }
  if (method === "OPTIONS") headers.origin = pick(["https://evil.example", "http://localhost:5173", "null"]);
  return send(method, path, headers, body, `#${i} ${method} ${path} ${headers["content-type"]} auth=${(headers.authorization ?? "none").slice(0, 24)} body=${String(body).slice(0, 60)}`);
}

async function rowCounts(): Promise<Record<string, number>> {
  const { rows: tables } = await t.pool.query<{ name: string }>(
    `select quote_ident(table_name) as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    counts[`public.${name}`] = (await t.pool.query(`select count(*)::int as n from public.${name}`)).rows[0].n;
  }
  counts["graphile_worker jobs"] = (await t.pool.query("select count(*)::int as n from graphile_worker.jobs")).rows[0].n;
  counts["nexus_private.audit_log"] = (await t.pool.query("select count(*)::int as n from nexus_private.audit_log")).rows[0].n;
  return counts;
}

beforeAll(async () => {
  t = await startTestServer({
    env: {
      ...LIVEKIT_ENV,
      NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      CORS_ORIGINS: "https://app.nomadnexus.test",
    },
  });
  await t.pool.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                      values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
  await makeBadTokens();
  REST_ROUTES = modules.flatMap((m) => m.restRoutes?.({ config: t.config, pool: t.pool, log: undefined as never }) ?? []).map((r) => r.name);
});
afterAll(async () => {
  agent.destroy();
  await t?.close();
});

describe("malformed requests on the runbook routes", () => {
  it(`${REQUESTS} of them: no 5xx, JSON errors, the server stays up and nothing is written`, async () => {
    expect(REST_ROUTES).toEqual(expect.arrayContaining(["livekit-token", "net-bridge", "notifications-subscribe", "handle-rescue-request"]));
    const members = await Promise.all(RANKS.map((rank) => createMember(t.pool, rank)));
    const memberTokens = [...members.map((m) => m.token), await tokenFor(crypto.randomUUID())];
    const before = await rowCounts();

    const answers: Answer[] = [];
    const failures: string[] = [];
    const deadline = Date.now() + TIME_LIMIT_MS;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS && Date.now() < deadline) {
          const i = next++;
          try {
            answers.push(await oneRequest(i, memberTokens));
          } catch (error) {
            failures.push(`#${i}: ${(error as Error).message}`);
          }
        }
      }),
    );

    expect(failures).toEqual([]);
    expect(answers.length).toBe(REQUESTS);
    const serverErrors = answers.filter((a) => a.status >= 500);
    expect(serverErrors.map((a) => `${a.status} ${a.label} -> ${a.body.slice(0, 200)}`)).toEqual([]);
    // Every error we answer is our JSON body (431 comes from Node's HTTP parser for an oversized header, before us).
    const notJson = answers.filter((a) => {
      if (a.status < 400 || a.status === 431 || a.label.includes(" HEAD ")) return false;
      try {
        const parsed = JSON.parse(a.body);
        return typeof parsed.error !== "string" || typeof parsed.message !== "string";
      } catch {
        return true;
      }
    });
    expect(notJson.map((a) => `${a.status} ${a.label} -> ${a.body.slice(0, 120)}`)).toEqual([]);
    expect(notJson).toEqual([]);

    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    // The mix really was malformed: mostly 400 and 401, and each kind of refusal happened.
    expect(statuses.get(400)).toBeGreaterThan(REQUESTS / 4);
    expect(statuses.get(401)).toBeGreaterThan(REQUESTS / 10);

    expect(statuses.get(405)).toBeGreaterThan(0);
    // Every route had its share.
    for (const path of [...REST_ROUTES.map((r) => `/functions/v1/${r}`), ...WEBHOOK_PATHS]) {
      expect(answers.filter((a) => a.label.includes(` ${path} `)).length, path).toBeGreaterThan(50);
    }
    console.log(`fuzz seed ${SEED}: ${answers.length} requests over ${[...REST_ROUTES, ...WEBHOOK_PATHS].join(", ")}; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);

    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.baseUrl}/readyz`)).status).toBe(200);
    expect(await rowCounts()).toEqual(before);
  }, TIME_LIMIT_MS + 60_000);

  it("malformed GraphQL requests (broken JSON, wrong shapes, bad tokens, oversized documents): no 5xx, nothing written", async () => {
    const member = await createMember(t.pool, "SCOUT");
    const before = await rowCounts();
    const bodies: Array<() => string> = [
      () => malformedBody().body.toString(),
      () => JSON.stringify({ query: wrongValue() }),
      () => JSON.stringify({ query: "mutation { issueVoiceToken(input: { roomName: 12 }) { token } }" }),
      () => JSON.stringify({ query: "mutation($i: FireRescueFlareInput!) { fireRescueFlare(input: $i) { rescueFlare { id } } }", variables: { i: { location: wrongValue(), flareType: "NOPE" } } }),
      () => JSON.stringify({ query: "mutation($i: SubscribePushInput!) { subscribePush(input: $i) { clientMutationId } }", variables: wrongValue() }),
      () => JSON.stringify({ query: "{ " + "a { ".repeat(3000) + "}".repeat(3000) + " }" }),
      () => JSON.stringify({ query: "{ __typename }", operationName: wrongValue(), extensions: wrongValue() }),
      () => JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]),
      () => JSON.stringify({ query: "{ __typename }".padEnd(200_000, " ") }),
    ];
    const answers: Answer[] = [];
    for (let i = 0; i < 400; i++) {
      const authorization = badAuthorization([member.token]);
      const headers: Record<string, string> = { "content-type": pick(["application/json", "application/graphql+json", "text/plain", "application/x-www-form-urlencoded"]) };
      if (authorization !== undefined) headers.authorization = authorization;
      const method = random() < 0.1 ? pick(["GET", "PUT", "DELETE"]) : "POST";
      answers.push(await send(method, "/graphql", headers, pick(bodies)(), `#${i} ${method} /graphql`));
    }
    expect(answers.filter((a) => a.status >= 500).map((a) => `${a.status} ${a.label} -> ${a.body.slice(0, 200)}`)).toEqual([]);
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    expect(await rowCounts()).toEqual(before);
  }, 120_000);

  it("hostile values (NUL bytes, invalid UTF-8, lone surrogates, huge numbers, deep JSON) in every field a member controls, REST and GraphQL: 4xx, never 5xx or INTERNAL", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    const founder = await createMember(t.pool, "FOUNDER");
    const { rows } = await t.pool.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Top', 'pioneers-only', 'PIONEER', 'PIONEER', 'PIONEER') returning id`);
    const hiddenNet = rows[0].id as string;
    const strings = HOSTILE_VALUES.filter((v): v is string => typeof v === "string");
    const answers: Answer[] = [];
    const json = (body: unknown) => JSON.stringify(body);

    for (const h of HOSTILE_VALUES) {
      const rest: [string, string, unknown][] = [
        ["livekit-token", scout.token, { roomName: h, participantName: h }],
        ["handle-rescue-request", scout.token, { location: h, flareType: "MEDICAL" }],
        ["handle-rescue-request", scout.token, { location: "Stanton", flareType: h }],
        ["notifications-subscribe", scout.token, { endpoint: `https://fcm.googleapis.com/fcm/send/${String(h)}`, auth: h, p256dh: h }],
        ["net-bridge", founder.token, { sourceNetId: h, targetNetId: h, action: "link" }],
        ["academy-request", scout.token, { skillId: h }],
      ];
      for (const [route, token, body] of rest) {
        if (!REST_ROUTES.includes(route)) continue;
        answers.push(await send("POST", `/functions/v1/${route}`, { "content-type": "application/json", authorization: `Bearer ${token}` }, json(body), `${route} ${json(body).slice(0, 60)}`));
      }
      const graphql: [string, string, Record<string, unknown>][] = [
        [founder.token, "mutation($v: VoiceNetInput!) { createVoiceNet(input: { voiceNet: $v }) { voiceNet { id } } }", { v: { name: h, roomName: "fuzz-net" } }],
        [founder.token, "mutation($v: VoiceNetInput!) { createVoiceNet(input: { voiceNet: $v }) { voiceNet { id } } }", { v: { name: "Fuzz", roomName: h } }],
        [scout.token, "query($n: String) { voiceNets(condition: { name: $n }) { nodes { id } } }", { n: h }],
        [scout.token, "query($n: Int) { voiceNets(first: $n) { nodes { id } } }", { n: h }],
        [scout.token, "query($n: Int) { voiceNets(offset: $n) { nodes { id } } }", { n: h }],
        [scout.token, "mutation($r: String) { issueVoiceToken(input: { roomName: $r }) { token } }", { r: h }],
        [scout.token, "mutation($l: String!) { fireRescueFlare(input: { location: $l, flareType: MEDICAL }) { rescueFlare { id } } }", { l: h }],
        [scout.token, "mutation($e: String!, $p: String!) { authenticate(input: { email: $e, password: $p }) { jwtToken } }", { e: h, p: h }],
        [scout.token, "mutation($i: SubscribePushInput!) { subscribePush(input: $i) { clientMutationId } }", { i: { endpoint: h, p256dh: h, auth: h } }],
      ];
      for (const [token, query, variables] of graphql) {
        answers.push(await send("POST", "/graphql", { "content-type": "application/json", authorization: `Bearer ${token}` }, json({ query, variables }), `graphql ${query.slice(0, 40)} ${json(variables).slice(0, 60)}`));
      }
    }
    // Literals in the document itself, and invalid UTF-8 bytes inside a GraphQL string.
    for (const h of strings) {
      answers.push(await send("POST", "/graphql", { "content-type": "application/json", authorization: `Bearer ${scout.token}` }, json({ query: `{ voiceNets(condition: { name: ${json(h)} }) { nodes { id } } }` }), `literal ${json(h)}`));
    }
    for (const bad of [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff]]) {
      const body = Buffer.concat([Buffer.from('{"query":"mutation { fireRescueFlare(input: { location: \\"x'), Buffer.from(bad), Buffer.from('\\", flareType: MEDICAL }) { rescueFlare { id } } }"}')]);
      answers.push(await send("POST", "/graphql", { "content-type": "application/json", authorization: `Bearer ${scout.token}` }, body, `invalid UTF-8 ${bad}`));
    }
    // A row the caller may not see: updating or deleting it is not found, not a server fault.
    for (const [token, query] of [
      [scout.token, `mutation { updateVoiceNet(input: { id: "${hiddenNet}", patch: { name: "Mine" } }) { voiceNet { id } } }`],
      [founder.token, `mutation { deleteVoiceNet(input: { id: "${hiddenNet}" }) { voiceNet { id } } }`],
      [scout.token, `{ voiceNets(first: -1) { nodes { id } } }`],
    ] as const) {
      const answer = await send("POST", "/graphql", { "content-type": "application/json", authorization: `Bearer ${token}` }, json({ query }), query.slice(0, 70));
      answers.push(answer);
      expect(`${JSON.parse(answer.body).errors?.[0]?.extensions?.code} ${query} -> ${answer.body}`).toMatch(/^(NOT_FOUND|BAD_REQUEST) /);
      expect(answer.status, query).toBeLessThan(500);
    }

    expect(answers.filter((a) => a.status >= 500).map((a) => `${a.status} ${a.label} -> ${a.body.slice(0, 200)}`)).toEqual([]);
    const internal = answers.filter((a) => {
      try {
        return JSON.parse(a.body).errors?.some((e: { extensions?: { code?: string } }) => e.extensions?.code === "INTERNAL" || e.extensions?.code === "UNAVAILABLE");
      } catch {
        return false;
      }
    });
    expect(internal.map((a) => `${a.label} -> ${a.body.slice(0, 200)}`)).toEqual([]);
    // The NUL byte reached Postgres (it was refused there, not by luck upstream): at least one such refusal is BAD_REQUEST.
    expect(answers.some((a) => a.label.includes("\\u0000") && a.status === 400 && a.body.includes("BAD_REQUEST"))).toBe(true);
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    expect((await t.pool.query("select name from public.voice_nets where id = $1", [hiddenNet])).rows).toEqual([{ name: "Top" }]);
  }, 120_000);
});

/**
 * Voice tokens through the real HTTP server: GraphQL issueVoiceToken / issueVoiceTokens and the runbook's
 * POST /functions/v1/livekit-token. Every token is verified with livekit-server-sdk's TokenVerifier and its grants
 * and metadata checked against the member and the net.
 */
import { AccessToken, TokenVerifier, type ClaimGrants } from "livekit-server-sdk";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretKey } from "../../core/jwt.ts";
import { signParticipantToken } from "../../core/livekit/tokens.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const LIVEKIT = {
  LIVEKIT_URL: "wss://livekit.test.invalid",
  LIVEKIT_API_KEY: "APItestkey",
  LIVEKIT_API_SECRET: "test-livekit-secret-that-is-long-enough-1234567890",
  LIVEKIT_TOKEN_TTL: "900",
};
const verifier = new TokenVerifier(LIVEKIT.LIVEKIT_API_KEY, LIVEKIT.LIVEKIT_API_SECRET);

let t: TestServer;
const nets: Record<string, string> = {};
let scout: Member;
let vagrant: Member;
let voyager: Member;
let founder: Member;

/** The runbook's operator SQL, verbatim, as a superuser. */
async function createNet(room: string, join: string, rx: string, tx: string): Promise<string> {
  const { rows } = await t.pool.query<{ id: string }>(
    `insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
     values ($1, $1, $2, $3, $4) returning id`,
    [room, join, rx, tx],
  );
  return (nets[room] = rows[0]!.id);
}

beforeAll(async () => {
  t = await startTestServer({ env: LIVEKIT });
  await createNet("test-room", "VAGRANT", "VAGRANT", "SCOUT");
  await createNet("scouts", "SCOUT", "SCOUT", "SCOUT");
  await createNet("ops", "SCOUT", "SCOUT", "VOYAGER");
  await createNet("command", "VOYAGER", "VOYAGER", "FOUNDER");
  [scout, vagrant, voyager, founder] = await Promise.all([
    createMember(t.pool, "SCOUT"),
    createMember(t.pool, "VAGRANT"),
    createMember(t.pool, "VOYAGER"),
    createMember(t.pool, "FOUNDER"),
  ]);
});
afterAll(async () => t?.close());

const ISSUE = `mutation($input: IssueVoiceTokenInput!) {
  issueVoiceToken(input: $input) {
    netId netName token serverUrl roomName identity canPublish canSubscribe expiresAt
    bridged { netId roomName netName token canPublish canSubscribe expiresAt }
  }
}`;
const ISSUE_MANY = `mutation($input: IssueVoiceTokensInput!) {
  issueVoiceTokens(input: $input) {
    results { requested netId roomName error { code message } voiceToken { roomName token canPublish canSubscribe bridged { roomName } } }
  }
}`;

/** Verify a LiveKit token and check every grant and the metadata against the member and the net. */
async function expectToken(
  token: unknown,
  member: Member,
  room: string,
  rights: { canPublish: boolean; canSubscribe: boolean },
  bridgedFrom?: string,
) {
  expect(typeof token, "the token is a string, never {}").toBe("string");
  expect(token as string).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  const claims: ClaimGrants = await verifier.verify(token as string);
  expect(claims.sub).toBe(member.id);
  expect(claims.iss).toBe(LIVEKIT.LIVEKIT_API_KEY);
  expect(claims.name).toBe(member.callsign);
  // A bridged token names the net it came with: the holder is in its room by the bridge (docs/live-permissions.md).
  expect(JSON.parse(claims.metadata!)).toEqual({
    userId: member.id,
    rank: member.rank,
    callsign: member.callsign,
    ...(bridgedFrom ? { bridgedFrom } : {}),
  });
  expect(claims.video).toEqual({
    room,
    roomJoin: true,
    canPublish: rights.canPublish,
    canSubscribe: rights.canSubscribe,
    canPublishData: rights.canPublish,
  });
  expect(claims.exp! - claims.nbf!).toBe(900);
  return claims;
}

describe("issueVoiceToken (GraphQL)", () => {
  it("gives a SCOUT a token that may publish and a VAGRANT a listen-only token on the runbook's test-room", async () => {
    const s = await t.graphql(ISSUE, { input: { roomName: "test-room" } }, scout.token);
    expect(s.body.errors).toBeUndefined();
    const st = s.body.data.issueVoiceToken;
    expect(st).toMatchObject({
      netId: nets["test-room"],
      netName: "test-room",
      roomName: "test-room",
      serverUrl: LIVEKIT.LIVEKIT_URL,
      identity: scout.id,
      canPublish: true,
      canSubscribe: true,
      bridged: [],
    });
    const claims = await expectToken(st.token, scout, "test-room", { canPublish: true, canSubscribe: true });
    expect(new Date(st.expiresAt).getTime()).toBe(claims.exp! * 1000);

    const v = await t.graphql(ISSUE, { input: { netId: nets["test-room"] } }, vagrant.token);
    expect(v.body.errors).toBeUndefined();
    expect(v.body.data.issueVoiceToken).toMatchObject({ canPublish: false, canSubscribe: true, identity: vagrant.id });
    await expectToken(v.body.data.issueVoiceToken.token, vagrant, "test-room", { canPublish: false, canSubscribe: true });
  });

  it("refuses a VAGRANT on a net whose join gate is SCOUT with INSUFFICIENT_CLEARANCE, and an unknown net with NOT_FOUND", async () => {
    const refused = await t.graphql(ISSUE, { input: { roomName: "scouts" } }, vagrant.token);
    expect(refused.body.data.issueVoiceToken).toBeNull();
    expect(refused.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    expect(refused.body.errors?.[0].message).toMatch(/SCOUT/);
    const missing = await t.graphql(ISSUE, { input: { roomName: "no-such-net" } }, scout.token);
    expect(missing.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
    const both = await t.graphql(ISSUE, { input: { roomName: "scouts", netId: nets.scouts } }, scout.token);
    expect(both.body.errors?.[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("refuses anon with UNAUTHENTICATED", async () => {
    const anon = await t.graphql(ISSUE, { input: { roomName: "test-room" } });
    expect(anon.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("carries a token for each bridged net the member may hear, with their own rights there, and never more", async () => {
    const link = await t.graphql(
      `mutation($input: LinkVoiceNetsInput!) { linkVoiceNets(input: $input) { voiceNetBridge { id sourceNetId targetNetId } } }`,
      { input: { sourceNetId: nets.ops, targetNetId: nets.command } },
      founder.token,
    );
    expect(link.body.errors).toBeUndefined();
    try {
      const v = (await t.graphql(ISSUE, { input: { roomName: "ops" } }, voyager.token)).body.data.issueVoiceToken;
      expect(v).toMatchObject({ roomName: "ops", canPublish: true, canSubscribe: true });
      expect(v.bridged).toHaveLength(1);
      expect(v.bridged[0]).toMatchObject({ netId: nets.command, roomName: "command", canPublish: false, canSubscribe: true });
      await expectToken(v.bridged[0].token, voyager, "command", { canPublish: false, canSubscribe: true }, nets.ops);

      const s = (await t.graphql(ISSUE, { input: { roomName: "ops" } }, scout.token)).body.data.issueVoiceToken;
      expect(s).toMatchObject({ canPublish: false, canSubscribe: true, bridged: [] });
      await expectToken(s.token, scout, "ops", { canPublish: false, canSubscribe: true });
    } finally {
      await t.graphql(
        `mutation($input: UnlinkVoiceNetsInput!) { unlinkVoiceNets(input: $input) { voiceNetBridge { id } } }`,
        { input: { sourceNetId: nets.command, targetNetId: nets.ops } },
        founder.token,
      );
    }
  });
});

describe("issueVoiceTokens (GraphQL batch)", () => {
  it("answers every net in request order: a token where the member may join, a per-net error elsewhere", async () => {
    const res = await t.graphql(ISSUE_MANY, { input: { roomNames: ["test-room", "command", "no-such-net", "ops"] } }, scout.token);
    expect(res.body.errors).toBeUndefined();
    const results = res.body.data.issueVoiceTokens.results;
    expect(results.map((r: any) => [r.requested, r.error?.code ?? null])).toEqual([
      ["test-room", null],
      ["command", "INSUFFICIENT_CLEARANCE"],
      ["no-such-net", "NOT_FOUND"],
      ["ops", null],
    ]);
    await expectToken(results[0].voiceToken.token, scout, "test-room", { canPublish: true, canSubscribe: true });
    await expectToken(results[3].voiceToken.token, scout, "ops", { canPublish: false, canSubscribe: true });
    expect(results[1].voiceToken).toBeNull();
  });

  it("asks the database the same number of times for one net as for many", async () => {
    const count = async (roomNames: string[]) => {
      let queries = 0;
      const wrapped = new WeakSet<object>();
      const onAcquire = (client: any) => {
        if (wrapped.has(client)) return;
        wrapped.add(client);
        const query = client.query.bind(client);
        client.query = (...args: unknown[]) => {
          if (counting) queries++;
          return query(...args);
        };
      };
      let counting = true;
      t.pool.on("acquire", onAcquire);
      try {
        const res = await t.graphql(ISSUE_MANY, { input: { roomNames } }, founder.token);
        expect(res.body.errors).toBeUndefined();
      } finally {
        counting = false;
        t.pool.off("acquire", onAcquire);
      }
      return queries;
    };
    const one = await count(["ops"]);
    const four = await count(["ops", "command", "test-room", "scouts"]);
    expect(one).toBeGreaterThan(0);
    expect(four).toBe(one);
  });
});

describe("POST /functions/v1/livekit-token (runbook)", () => {
  it("answers {token, serverUrl} with canPublish true for a SCOUT and false for a VAGRANT", async () => {
    const s = await t.rest("livekit-token", { roomName: "test-room", participantName: "Scout1" }, scout.token);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ serverUrl: LIVEKIT.LIVEKIT_URL, canPublish: true, roomName: "test-room" });
    await expectToken(s.body.token, scout, "test-room", { canPublish: true, canSubscribe: true });

    const v = await t.rest("livekit-token", { roomName: "test-room", participantName: "Vagrant1" }, vagrant.token);
    expect(v.status).toBe(200);
    expect(v.body.canPublish).toBe(false);
    await expectToken(v.body.token, vagrant, "test-room", { canPublish: false, canSubscribe: true });
  });

  it("ignores identity, role and participantName from the body: they come from the JWT and the database", async () => {
    const res = await t.rest(
      "livekit-token",
      { roomName: "test-room", participantName: "Founder1", identity: founder.id, role: "PIONEER" },
      vagrant.token,
    );
    expect(res.status).toBe(200);
    expect(res.body.identity).toBe(vagrant.id);
    await expectToken(res.body.token, vagrant, "test-room", { canPublish: false, canSubscribe: true });
  });

  it("maps refusals to the runbook's statuses: 403 INSUFFICIENT_CLEARANCE, 404 NOT_FOUND, 400 BAD_REQUEST", async () => {
    expect(await t.rest("livekit-token", { roomName: "scouts" }, vagrant.token)).toMatchObject({
      status: 403,
      body: { error: "INSUFFICIENT_CLEARANCE" },
    });
    expect(await t.rest("livekit-token", { roomName: "nowhere" }, scout.token)).toMatchObject({ status: 404, body: { error: "NOT_FOUND" } });
    expect(await t.rest("livekit-token", { participantName: "x" }, scout.token)).toMatchObject({ status: 400, body: { error: "BAD_REQUEST" } });
  });

  it("refuses expired, tampered and missing app JWTs with 401 before signing anything", async () => {
    const expired = await new SignJWT({ role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(scout.id)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secretKey(TEST_JWT_SECRET));
    const [h, p, s] = vagrant.token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    claims.sub = scout.id;
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    for (const token of [expired, tampered, undefined]) {
      const res = await t.rest("livekit-token", { roomName: "test-room" }, token);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe("UNAUTHENTICATED");
      expect(res.body.token).toBeUndefined();
    }
    const gql = await t.graphql(ISSUE, { input: { roomName: "test-room" } }, expired);
    expect(gql.status).toBe(401);
  });
});

describe("the old system's trap: AccessToken.toJwt() is async", () => {
  it("without await the SDK gives a Promise, which JSON turns into {}; our tokens are JWT strings", async () => {
    const unawaited = new AccessToken("k", "s".repeat(32), { identity: "x" }).toJwt();
    expect(unawaited).toBeInstanceOf(Promise);
    expect(JSON.stringify({ token: unawaited })).toBe('{"token":{}}');
    await unawaited;

    const signed = await signParticipantToken(
      { url: "wss://x", apiKey: LIVEKIT.LIVEKIT_API_KEY, apiSecret: LIVEKIT.LIVEKIT_API_SECRET },
      { room: "r", identity: "u", name: "n", metadata: {}, canPublish: true, canSubscribe: true, ttlSeconds: 60 },
    );
    expect(typeof signed.token).toBe("string");
    expect(signed.token.split(".")).toHaveLength(3);

    const res = await t.rest("livekit-token", { roomName: "test-room" }, scout.token);
    expect(typeof res.body.token).toBe("string");
    expect(res.body.token).not.toEqual({});
    expect((await verifier.verify(res.body.token)).video?.room).toBe("test-room");
  });
});

describe("LiveKit not configured", () => {
  let bare: TestServer;
  beforeAll(async () => {
    bare = await startTestServer({ env: { LIVEKIT_URL: "wss://livekit.test.invalid" } });
  });
  afterAll(async () => bare?.close());

  it("answers LIVEKIT_NOT_CONFIGURED naming the missing variables, not a crash", async () => {
    const member = await createMember(bare.pool, "SCOUT");
    await bare.pool.query("insert into public.voice_nets (name, room_name) values ('open', 'open')");
    const gql = await bare.graphql(ISSUE, { input: { roomName: "open" } }, member.token);
    expect(gql.body.errors?.[0].extensions.code).toBe("LIVEKIT_NOT_CONFIGURED");
    expect(gql.body.errors?.[0].message).toBe("LiveKit is not configured: set LIVEKIT_API_KEY, LIVEKIT_API_SECRET");
    const res = await bare.rest("livekit-token", { roomName: "open" }, member.token);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: "LIVEKIT_NOT_CONFIGURED",
      message: "LiveKit is not configured: set LIVEKIT_API_KEY, LIVEKIT_API_SECRET",
    });
    expect((await fetch(`${bare.baseUrl}/healthz`)).status).toBe(200);
  });
});

/**
 * The academy's edges through the real HTTP server: mentors racing for one request over concurrent HTTP
 * requests (REST and GraphQL mixed), refusals with their codes and statuses, expired and closed pods, token
 * lifetimes clipped to the pod, and a server without LiveKit credentials that refuses before accepting anything.
 */
import { TokenVerifier } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const LIVEKIT = {
  LIVEKIT_URL: "wss://livekit.test.invalid",
  LIVEKIT_API_KEY: "APIacademykey",
  LIVEKIT_API_SECRET: "academy-livekit-secret-that-is-long-enough-0123456789",
  LIVEKIT_TOKEN_TTL: "600",
};
const verifier = new TokenVerifier(LIVEKIT.LIVEKIT_API_KEY, LIVEKIT.LIVEKIT_API_SECRET);

let t: TestServer;
let skillId: string;

beforeAll(async () => {
  t = await startTestServer({ env: LIVEKIT });
  skillId = (await t.pool.query<{ id: string }>("insert into public.skills (name) values ('Mining') returning id")).rows[0]!.id;
});
afterAll(async () => t?.close());

async function mentorOf(rank: Member["rank"], skill = skillId, server: TestServer = t): Promise<Member> {
  const mentor = await createMember(server.pool, rank);
  await server.pool.query("insert into public.mentor_certifications (user_id, skill_id) values ($1, $2)", [mentor.id, skill]);
  return mentor;
}

async function requestAs(cadet: Member, server: TestServer = t): Promise<string> {
  const res = await server.rest("academy-request", { skillId }, cadet.token);
  expect(res.status).toBe(200);
  return res.body.requestId;
}

const ACCEPT = `mutation($input: AcceptTrainingInput!) { acceptTraining(input: $input) { simPodId connectionTokens { identity token } } }`;
const JOIN = `mutation($input: JoinSimPodInput!) { joinSimPod(input: $input) { token expiresAt podExpiresAt } }`;

describe("mentors racing for one request", () => {
  it("exactly one of six mentors accepting at once wins; the other five get CONFLICT, over REST and GraphQL alike", async () => {
    const mentors = await Promise.all(["SCOUT", "VOYAGER", "FOUNDER", "PIONEER", "AFFILIATE", "VAGRANT"].map((r) => mentorOf(r as Member["rank"])));
    for (let round = 0; round < 5; round++) {
      const cadet = await createMember(t.pool, "VAGRANT");
      await t.pool.query("insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values ($1, $2, $3, $4)", [
        cadet.id,
        `https://fcm.googleapis.com/fcm/send/academy-${cadet.id}`,
        "BB352rV3H-rXRiQi64a0BzoCh9jM8m6j9y0Fq6nwGY8esbybTMQ8w7s977cnOT7ULnI8gVjvCvHiiHXhpm2KPYs",
        "cQki06ubNJnY7UnPlCN1hA",
      ]);
      const requestId = await requestAs(cadet);
      const outcomes = await Promise.all(
        mentors.map(async (mentor, i) => {
          if (i % 2 === 0) {
            const res = await t.rest("academy-accept", { requestId }, mentor.token);
            return { mentor, via: "rest", won: res.status === 200, code: res.status === 200 ? null : res.body.error, status: res.status, simPodId: res.body.simPodId };
          }
          const res = await t.graphql(ACCEPT, { input: { requestId } }, mentor.token);
          const won = !res.body.errors && res.body.data.acceptTraining !== null;
          return { mentor, via: "graphql", won, code: won ? null : res.body.errors?.[0].extensions.code, status: res.status, simPodId: res.body.data?.acceptTraining?.simPodId };
        }),
      );
      const winners = outcomes.filter((o) => o.won);
      expect(winners, `round ${round}: one winner`).toHaveLength(1);
      expect(outcomes.filter((o) => !o.won).map((o) => o.code), `round ${round}: every other mentor gets CONFLICT`).toEqual(Array(5).fill("CONFLICT"));
      for (const lost of outcomes.filter((o) => !o.won && o.via === "rest")) expect(lost.status, "REST answers CONFLICT with 409").toBe(409);

      const { rows } = await t.pool.query(
        `select r.status, r.mentor_id, r.sim_pod_id,
                (select count(*)::int from public.sim_pods p where p.request_id = r.id) as pods,
                (select count(*)::int from public.notification_queue q where q.user_id = r.cadet_id and q.type = 'SIM_POD_READY') as pages
           from public.academy_requests r where r.id = $1`,
        [requestId],
      );
      expect(rows[0]).toEqual({ status: "ACCEPTED", mentor_id: winners[0]!.mentor.id, sim_pod_id: winners[0]!.simPodId, pods: 1, pages: 1 });
    }
  });
});

describe("refusals", () => {
  it("a cadet cannot accept their own request, even as a mentor of the skill", async () => {
    const cadet = await mentorOf("PIONEER");
    const requestId = await requestAs(cadet);
    expect(await t.rest("academy-accept", { requestId }, cadet.token)).toEqual({
      status: 403,
      body: { error: "INSUFFICIENT_CLEARANCE", message: "you cannot accept your own training request" },
    });
    const gql = await t.graphql(ACCEPT, { input: { requestId } }, cadet.token);
    expect(gql.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
  });

  it("answers each wrong request with its code: not a mentor, unknown, repeated, malformed, anonymous", async () => {
    const cadet = await createMember(t.pool, "SCOUT");
    const founder = await createMember(t.pool, "FOUNDER");
    const requestId = await requestAs(cadet);
    expect(await t.rest("academy-accept", { requestId }, founder.token)).toEqual({
      status: 403,
      body: { error: "INSUFFICIENT_CLEARANCE", message: "only a mentor certified for Mining may accept this request" },
    });
    expect((await t.rest("academy-accept", { requestId: "00000000-0000-4000-8000-000000000000" }, founder.token)).status).toBe(404);
    expect(await t.rest("academy-request", { skillId }, cadet.token)).toMatchObject({ status: 409, body: { error: "CONFLICT" } });
    expect(await t.rest("academy-request", { skillId: "00000000-0000-4000-8000-000000000000" }, cadet.token)).toMatchObject({
      status: 404,
      body: { error: "NOT_FOUND" },
    });
    expect(await t.rest("academy-request", { skillId: "mining" }, cadet.token)).toMatchObject({ status: 400, body: { error: "BAD_REQUEST" } });
    expect(await t.rest("academy-accept", {}, founder.token)).toMatchObject({ status: 400, body: { error: "BAD_REQUEST" } });
    expect(await t.rest("academy-request", { skillId })).toMatchObject({ status: 401, body: { error: "UNAUTHENTICATED" } });
    expect(await t.rest("academy-join", { simPodId: "sim-pod-00000000000000000000000000000000" }, cadet.token)).toMatchObject({
      status: 404,
      body: { error: "NOT_FOUND" },
    });
  });
});

describe("skills and certifications in GraphQL", () => {
  it("a FOUNDER adds a skill and certifies a VOYAGER, who certifies a cadet; a SCOUT may do neither", async () => {
    const founder = await createMember(t.pool, "FOUNDER");
    const voyager = await createMember(t.pool, "VOYAGER");
    const scout = await createMember(t.pool, "SCOUT");
    const cadet = await createMember(t.pool, "VAGRANT");
    const CREATE = `mutation($input: CreateSkillInput!) { createSkill(input: $input) { skill { id name category } } }`;
    const refusedSkill = await t.graphql(CREATE, { input: { skill: { name: "Salvage", category: "Industry" } } }, scout.token);
    expect(refusedSkill.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    const created = await t.graphql(CREATE, { input: { skill: { name: "Salvage", category: "Industry" } } }, founder.token);
    expect(created.body.errors).toBeUndefined();
    const salvage = created.body.data.createSkill.skill;
    expect(salvage).toMatchObject({ name: "Salvage", category: "Industry" });

    const CERTIFY = `mutation($input: CertifyMentorInput!) {
      certifyMentor(input: $input) { mentorCertification { mentor { id } skill { name } grantedByMember { id } } }
    }`;
    const byScout = await t.graphql(CERTIFY, { input: { userId: cadet.id, skillId: salvage.id } }, scout.token);
    expect(byScout.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    const byVoyagerFirst = await t.graphql(CERTIFY, { input: { userId: cadet.id, skillId: salvage.id } }, voyager.token);
    expect(byVoyagerFirst.body.errors?.[0].extensions.code, "a VOYAGER who does not mentor the skill cannot certify").toBe("INSUFFICIENT_CLEARANCE");
    const byFounder = await t.graphql(CERTIFY, { input: { userId: voyager.id, skillId: salvage.id } }, founder.token);
    expect(byFounder.body.errors).toBeUndefined();
    expect(byFounder.body.data.certifyMentor.mentorCertification).toEqual({
      mentor: { id: voyager.id },
      skill: { name: "Salvage" },
      grantedByMember: { id: founder.id },
    });
    const byVoyager = await t.graphql(CERTIFY, { input: { userId: cadet.id, skillId: salvage.id } }, voyager.token);
    expect(byVoyager.body.errors).toBeUndefined();
    expect(byVoyager.body.data.certifyMentor.mentorCertification.grantedByMember).toEqual({ id: voyager.id });
    const again = await t.graphql(CERTIFY, { input: { userId: cadet.id, skillId: salvage.id } }, founder.token);
    expect(again.body.errors?.[0].extensions.code).toBe("CONFLICT");
  });
});

describe("sim pod lifetime", () => {
  it("clips a token's lifetime to the pod's, and an expired pod is NOT_FOUND for its own cadet and mentor", async () => {
    const mentor = await mentorOf("SCOUT");
    const cadet = await createMember(t.pool, "AFFILIATE");
    const requestId = await requestAs(cadet);
    const accepted = await t.rest("academy-accept", { requestId }, mentor.token);
    const { simPodId } = accepted.body;

    await t.pool.query("update public.sim_pods set expires_at = now() + interval '90 seconds' where id = $1", [simPodId]);
    const soon = await t.graphql(JOIN, { input: { simPodId } }, cadet.token);
    expect(soon.body.errors).toBeUndefined();
    const claims = await verifier.verify(soon.body.data.joinSimPod.token);
    expect(claims.exp! - claims.nbf!).toBeLessThanOrEqual(90);
    expect(claims.exp! * 1000).toBeLessThanOrEqual(new Date(soon.body.data.joinSimPod.podExpiresAt).getTime());

    await t.pool.query("update public.sim_pods set created_at = now() - interval '3 hours', expires_at = now() - interval '1 hour' where id = $1", [simPodId]);
    for (const member of [cadet, mentor]) {
      const gql = await t.graphql(JOIN, { input: { simPodId } }, member.token);
      expect(gql.body.data.joinSimPod).toBeNull();
      expect(gql.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
      expect((await t.rest("academy-join", { simPodId }, member.token)).status).toBe(404);
    }
  });

  it("a cadet who cancels closes the pod: the mentor's join is NOT_FOUND", async () => {
    const mentor = await mentorOf("VOYAGER");
    const cadet = await createMember(t.pool, "VAGRANT");
    const requestId = await requestAs(cadet);
    const { simPodId } = (await t.rest("academy-accept", { requestId }, mentor.token)).body;
    const cancelled = await t.graphql(
      `mutation($input: CancelTrainingInput!) { cancelTraining(input: $input) { academyRequest { status } } }`,
      { input: { requestId } },
      cadet.token,
    );
    expect(cancelled.body.errors).toBeUndefined();
    expect(cancelled.body.data.cancelTraining.academyRequest.status).toBe("CANCELLED");
    expect((await t.graphql(JOIN, { input: { simPodId } }, mentor.token)).body.errors?.[0].extensions.code).toBe("NOT_FOUND");
  });
});

describe("LiveKit not configured", () => {
  let bare: TestServer;
  beforeAll(async () => {
    bare = await startTestServer({ env: { LIVEKIT_URL: "wss://livekit.test.invalid" } });
  });
  afterAll(async () => bare?.close());

  it("refuses the accept with LIVEKIT_NOT_CONFIGURED before accepting anything: the request stays PENDING", async () => {
    const skill = (await bare.pool.query<{ id: string }>("insert into public.skills (name) values ('Mining') returning id")).rows[0]!.id;
    const mentor = await mentorOf("SCOUT", skill, bare);
    const cadet = await createMember(bare.pool, "VAGRANT");
    const requested = await bare.rest("academy-request", { skillId: skill }, cadet.token);
    expect(requested.status).toBe(200);
    const { requestId } = requested.body;

    expect(await bare.rest("academy-accept", { requestId }, mentor.token)).toEqual({
      status: 503,
      body: { error: "LIVEKIT_NOT_CONFIGURED", message: "LiveKit is not configured: set LIVEKIT_API_KEY, LIVEKIT_API_SECRET" },
    });
    const gql = await bare.graphql(ACCEPT, { input: { requestId } }, mentor.token);
    expect(gql.body.errors?.[0].extensions.code).toBe("LIVEKIT_NOT_CONFIGURED");
    const { rows } = await bare.pool.query("select status, (select count(*)::int from public.sim_pods) as pods from public.academy_requests where id = $1", [
      requestId,
    ]);
    expect(rows[0]).toEqual({ status: "PENDING", pods: 0 });
  });
});

describe("asking and cancelling in a loop", () => {
  it("is held to 20 training requests a day per cadet, on REST and GraphQL together: 429 RATE_LIMITED with Retry-After", async () => {
    const prod = await startTestServer({ env: { NODE_ENV: "production", ...LIVEKIT } });
    try {
      const skill = (await prod.pool.query<{ id: string }>("insert into public.skills (name) values ('Salvage') returning id")).rows[0]!.id;
      const cadet = await createMember(prod.pool, "VAGRANT");
      const CANCEL = `mutation($input: CancelTrainingInput!) { cancelTraining(input: $input) { academyRequest { status } } }`;
      const REQUEST = `mutation($input: RequestTrainingInput!) { requestTraining(input: $input) { academyRequest { id } } }`;
      for (let i = 0; i < 20; i++) {
        const requestId =
          i % 2
            ? (await prod.rest("academy-request", { skillId: skill }, cadet.token)).body.requestId
            : (await prod.graphql(REQUEST, { input: { skillId: skill } }, cadet.token)).body.data.requestTraining.academyRequest.id;
        expect(requestId, `request ${i + 1}`).toMatch(/^[0-9a-f-]{36}$/);
        const cancelled = await prod.graphql(CANCEL, { input: { requestId } }, cadet.token);
        expect(cancelled.body.data.cancelTraining.academyRequest.status).toBe("CANCELLED");
      }
      const rest = await prod.rest("academy-request", { skillId: skill }, cadet.token);
      expect(rest.status).toBe(429);
      expect(rest.body).toMatchObject({ error: "RATE_LIMITED" });
      expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(80_000);
      const gql = await prod.graphql(REQUEST, { input: { skillId: skill } }, cadet.token);
      expect(gql.status).toBe(429);
      expect(gql.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
      const { rows } = await prod.pool.query("select count(*)::int as n from public.academy_requests where cadet_id = $1", [cadet.id]);
      expect(rows[0].n).toBe(20);
      // Another cadet is not held by it.
      const other = await createMember(prod.pool, "VAGRANT");
      expect((await prod.rest("academy-request", { skillId: skill }, other.token)).status).toBe(200);
    } finally {
      await prod.close();
    }
  });
});

/**
 * The academy end to end, the runbook's Phase 6.2 and its GraphQL twin: a cadet asks for a skill, a certified
 * mentor accepts, the cadet's phone is paged (SIM_POD_READY, through the worker and a local push service that
 * decrypts every message and checks its VAPID header), and both join the sim pod with their own LiveKit tokens,
 * each verified with livekit-server-sdk's TokenVerifier: right room, right identity, right grants.
 */
import { TokenVerifier, type ClaimGrants } from "livekit-server-sdk";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMember, type Member } from "../support/members.ts";
import { startPushService, type PushService, type Subscriber } from "../support/push-service.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const LIVEKIT = {
  LIVEKIT_URL: "wss://livekit.test.invalid",
  LIVEKIT_API_KEY: "APIacademykey",
  LIVEKIT_API_SECRET: "academy-livekit-secret-that-is-long-enough-0123456789",
  LIVEKIT_TOKEN_TTL: "600",
};
const vapid = webpush.generateVAPIDKeys();
const VAPID_ENV = {
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: "mailto:academy@nomadnexus.test",
};
const verifier = new TokenVerifier(LIVEKIT.LIVEKIT_API_KEY, LIVEKIT.LIVEKIT_API_SECRET);

let t: TestServer;
let service: PushService;
let worker: WorkerProcess;

beforeAll(async () => {
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  t = await startTestServer({ env: { ...LIVEKIT, ...VAPID_ENV, ...service.env } });
  // Its own process: Node reads NODE_EXTRA_CA_CERTS (trust in the push service's self-signed certificate) at start.
  worker = await spawnWorker({
    ...VAPID_ENV,
    DATABASE_URL: t.db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ...service.env,
    WORKER_CONCURRENCY: "2",
  });
}, 90_000);
afterAll(async () => {
  await worker?.kill("SIGTERM");
  await t?.close();
  await service?.close();
});

/** The runbook's operator SQL, verbatim, as a superuser. */
async function createSkill(name: string): Promise<string> {
  const { rows } = await t.pool.query<{ id: string }>("insert into public.skills (name) values ($1) returning id", [name]);
  return rows[0]!.id;
}
async function certify(member: Member, skillId: string): Promise<void> {
  await t.pool.query("insert into public.mentor_certifications (user_id, skill_id) values ($1, $2)", [member.id, skillId]);
}

/** A cadet with a phone on the push service, subscribed through the runbook's REST route. */
async function cadetWithPhone(): Promise<{ cadet: Member; phone: Subscriber }> {
  const cadet = await createMember(t.pool, "VAGRANT");
  const phone = service.subscribe();
  const res = await t.rest("notifications-subscribe", { endpoint: phone.endpoint, auth: phone.auth, p256dh: phone.p256dh }, cadet.token);
  expect(res).toEqual({ status: 200, body: { success: true } });
  return { cadet, phone };
}

const JOIN = `mutation($input: JoinSimPodInput!) {
  joinSimPod(input: $input) {
    simPodId requestId participant identity roomName serverUrl token canPublish canSubscribe roomAdmin expiresAt podExpiresAt
  }
}`;
const ACCEPT = `mutation($input: AcceptTrainingInput!) {
  acceptTraining(input: $input) {
    simPodId requestId roomName expiresAt
    connectionTokens { simPodId participant identity roomName serverUrl token canPublish canSubscribe roomAdmin expiresAt }
  }
}`;

/** Verify a sim pod token and check its identity, room, grants and metadata against the member. */
async function expectPodToken(token: unknown, member: Member, room: string, role: "CADET" | "MENTOR"): Promise<ClaimGrants> {
  expect(typeof token, "the token is a string, never {}").toBe("string");
  const claims = await verifier.verify(token as string);
  expect(claims.sub).toBe(member.id);
  expect(claims.iss).toBe(LIVEKIT.LIVEKIT_API_KEY);
  expect(claims.name).toBe(member.callsign);
  expect(JSON.parse(claims.metadata!)).toEqual({
    userId: member.id,
    rank: member.rank,
    callsign: member.callsign,
    simPodId: room,
    academyRole: role,
  });
  // Exactly these grants: this one room, speak and listen, and for the mentor control of this room only —
  // no roomCreate, roomList, roomRecord or any grant outside the pod.
  expect(claims.video).toEqual({
    room,
    roomJoin: true,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    ...(role === "MENTOR" ? { roomAdmin: true } : {}),
  });
  expect(claims.exp! - claims.nbf!).toBe(600);
  return claims;
}

const podReadyFor = (phone: Subscriber, simPodId: string) =>
  service.deliveriesFor(phone.id).filter((d) => d.payload.type === "SIM_POD_READY" && d.payload.simPodId === simPodId);

describe("the runbook's academy flow over REST (Phase 6.2)", () => {
  it("request -> accept -> the cadet is paged -> cadet and mentor join the pod with their own tokens", async () => {
    const skillId = await createSkill("Hammerhead piloting");
    const mentor = await createMember(t.pool, "SCOUT");
    await certify(mentor, skillId);
    const { cadet, phone } = await cadetWithPhone();

    const requested = await t.rest("academy-request", { skillId }, cadet.token);
    expect(requested.status).toBe(200);
    expect(requested.body).toEqual({ requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "PENDING" });
    const { requestId } = requested.body;

    const accepted = await t.rest("academy-accept", { requestId }, mentor.token);
    expect(accepted.status).toBe(200);
    const { simPodId, connectionTokens } = accepted.body;
    expect(simPodId).toMatch(/^sim-pod-[0-9a-f]{32}$/);
    expect(accepted.body).toMatchObject({ simPodId, requestId, roomName: simPodId });
    // connectionTokens holds the caller's own token only: the mentor's. The cadet's is never handed to the mentor.
    expect(connectionTokens).toHaveLength(1);
    expect(connectionTokens[0]).toMatchObject({
      simPodId,
      requestId,
      participant: "MENTOR",
      identity: mentor.id,
      roomName: simPodId,
      serverUrl: LIVEKIT.LIVEKIT_URL,
      canPublish: true,
      canSubscribe: true,
      roomAdmin: true,
    });
    const mentorClaims = await expectPodToken(connectionTokens[0].token, mentor, simPodId, "MENTOR");
    expect(new Date(connectionTokens[0].expiresAt).getTime()).toBe(mentorClaims.exp! * 1000);
    expect(JSON.stringify(accepted.body), "nothing in the mentor's answer names the cadet").not.toContain(cadet.id);

    // The cadet's phone is paged through the worker and the push service, and decrypts it.
    await service.waitFor(() => podReadyFor(phone, simPodId).length > 0);
    const [page] = podReadyFor(phone, simPodId);
    expect(page!.payload).toMatchObject({
      type: "SIM_POD_READY",
      requestId,
      simPodId,
      roomName: simPodId,
      skillId,
      skillName: "Hammerhead piloting",
      cadetId: cadet.id,
      mentorId: mentor.id,
      mentorCallsign: mentor.callsign,
      title: "Your mentor is ready",
      body: `${mentor.callsign} is waiting for you in a sim pod to teach Hammerhead piloting`,
    });
    expect(page!.text, "the push carries no LiveKit token").not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(service.rejected, "every VAPID header checked out and every body decrypted").toEqual([]);

    // Both join with their own tokens: GraphQL for the cadet, the REST twin for the mentor.
    const cadetJoin = await t.graphql(JOIN, { input: { simPodId: page!.payload.simPodId } }, cadet.token);
    expect(cadetJoin.body.errors).toBeUndefined();
    expect(cadetJoin.body.data.joinSimPod).toMatchObject({
      simPodId,
      requestId,
      participant: "CADET",
      identity: cadet.id,
      roomName: simPodId,
      serverUrl: LIVEKIT.LIVEKIT_URL,
      canPublish: true,
      canSubscribe: true,
      roomAdmin: false,
    });
    await expectPodToken(cadetJoin.body.data.joinSimPod.token, cadet, simPodId, "CADET");

    const mentorJoin = await t.rest("academy-join", { simPodId }, mentor.token);
    expect(mentorJoin.status).toBe(200);
    expect(mentorJoin.body).toMatchObject({ participant: "MENTOR", identity: mentor.id, roomAdmin: true });
    await expectPodToken(mentorJoin.body.token, mentor, simPodId, "MENTOR");

    // Anyone else: INSUFFICIENT_CLEARANCE, whatever their rank.
    const pioneer = await createMember(t.pool, "PIONEER");
    const stranger = await t.graphql(JOIN, { input: { simPodId } }, pioneer.token);
    expect(stranger.body.data.joinSimPod).toBeNull();
    expect(stranger.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    expect(await t.rest("academy-join", { simPodId }, pioneer.token)).toEqual({
      status: 403,
      body: { error: "INSUFFICIENT_CLEARANCE", message: "only the cadet and the mentor of a sim pod may join it" },
    });
  });
});

describe("the same flow in GraphQL", () => {
  it("requestTraining, openTrainingRequests, acceptTraining, joinSimPod, completeTraining with certify", async () => {
    const skillId = await createSkill("Field medicine");
    const mentor = await createMember(t.pool, "VOYAGER");
    const bystander = await createMember(t.pool, "FOUNDER");
    await certify(mentor, skillId);
    const { cadet, phone } = await cadetWithPhone();

    const requested = await t.graphql(
      `mutation($input: RequestTrainingInput!) { requestTraining(input: $input) { academyRequest { id status cadetId skill { name } } } }`,
      { input: { skillId } },
      cadet.token,
    );
    expect(requested.body.errors).toBeUndefined();
    const request = requested.body.data.requestTraining.academyRequest;
    expect(request).toMatchObject({ status: "PENDING", cadetId: cadet.id, skill: { name: "Field medicine" } });

    const OPEN = `{ openTrainingRequests { nodes { id status cadet { callsign } skill { name } } } }`;
    const open = await t.graphql(OPEN, {}, mentor.token);
    expect(open.body.errors).toBeUndefined();
    expect(open.body.data.openTrainingRequests.nodes).toEqual([
      { id: request.id, status: "PENDING", cadet: { callsign: cadet.callsign }, skill: { name: "Field medicine" } },
    ]);
    const notMentor = await t.graphql(OPEN, {}, bystander.token);
    expect(notMentor.body.data.openTrainingRequests.nodes, "a FOUNDER who mentors nothing has nothing to take").toEqual([]);
    const hidden = await t.graphql(`{ academyRequests { nodes { id } } }`, {}, bystander.token);
    expect(hidden.body.data.academyRequests.nodes, "RLS hides the cadet's request from a non-mentor").toEqual([]);

    const accepted = await t.graphql(ACCEPT, { input: { requestId: request.id } }, mentor.token);
    expect(accepted.body.errors).toBeUndefined();
    const { simPodId, connectionTokens } = accepted.body.data.acceptTraining;
    expect(connectionTokens).toHaveLength(1);
    expect(connectionTokens[0]).toMatchObject({ participant: "MENTOR", identity: mentor.id, roomName: simPodId, roomAdmin: true });
    await expectPodToken(connectionTokens[0].token, mentor, simPodId, "MENTOR");
    expect((await t.graphql(OPEN, {}, mentor.token)).body.data.openTrainingRequests.nodes, "a taken request is no longer open").toEqual([]);

    await service.waitFor(() => podReadyFor(phone, simPodId).length > 0);
    const join = await t.graphql(JOIN, { input: { simPodId } }, cadet.token);
    expect(join.body.errors).toBeUndefined();
    await expectPodToken(join.body.data.joinSimPod.token, cadet, simPodId, "CADET");

    const mine = await t.graphql(`{ academyRequests { nodes { id status mentor { callsign } simPod { id roomName } } } }`, {}, cadet.token);
    expect(mine.body.data.academyRequests.nodes).toEqual([
      { id: request.id, status: "ACCEPTED", mentor: { callsign: mentor.callsign }, simPod: { id: simPodId, roomName: simPodId } },
    ]);

    const completed = await t.graphql(
      `mutation($input: CompleteTrainingInput!) { completeTraining(input: $input) { academyRequest { status } } }`,
      { input: { requestId: request.id, certify: true } },
      mentor.token,
    );
    expect(completed.body.errors).toBeUndefined();
    expect(completed.body.data.completeTraining.academyRequest.status).toBe("COMPLETED");
    const certs = await t.graphql(
      `query($skillId: UUID!) { mentorCertifications(condition: { skillId: $skillId }) { nodes { mentor { id } grantedByMember { id } } } }`,
      { skillId },
      cadet.token,
    );
    expect(certs.body.data.mentorCertifications.nodes).toContainEqual({ mentor: { id: cadet.id }, grantedByMember: { id: mentor.id } });

    const closed = await t.graphql(JOIN, { input: { simPodId } }, cadet.token);
    expect(closed.body.errors?.[0].extensions.code, "a completed training's pod is closed").toBe("NOT_FOUND");
  });
});

/**
 * A mentor whose certification is revoked loses the trainings of that skill they hold, at once: against a
 * production-mode server over HTTP, the withdrawn mentor can no longer join the pod (no roomAdmin token), nor
 * complete the training or certify the cadet; the cadet, another member and anon get nothing either, and the
 * cadet may ask again. Only FOUNDER+ revoke.
 */
import { describe, expect, it } from "vitest";
import { graphql, rest } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("academy-revoke");

const ACCEPT = `mutation($input: AcceptTrainingInput!) { acceptTraining(input: $input) { simPodId connectionTokens { roomAdmin } } }`;
const JOIN = `mutation($input: JoinSimPodInput!) { joinSimPod(input: $input) { participant roomAdmin } }`;
const COMPLETE = `mutation($input: CompleteTrainingInput!) { completeTraining(input: $input) { academyRequest { status } } }`;
const REVOKE = `mutation($input: RevokeMentorCertificationInput!) { revokeMentorCertification(input: $input) { mentorCertification { userId } } }`;

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) => body.errors?.map((e) => e.extensions?.code);

describe("revoking a mentor's certification", () => {
  it("ends the trainings they hold: no pod token, no completion, no certification; the cadet may ask again", async () => {
    const url = app.nexus.baseUrl;
    const skillId = (await app.pool.query<{ id: string }>("insert into public.skills (name) values ('Mining') returning id")).rows[0]!.id;
    const [cadet, mentor, other, founder, voyager] = await Promise.all(
      (["VAGRANT", "VOYAGER", "PIONEER", "FOUNDER", "VOYAGER"] as Member["rank"][]).map((r) => createMember(app.pool, r)),
    );
    await app.pool.query("insert into public.mentor_certifications (user_id, skill_id) values ($1, $2), ($3, $2)", [mentor!.id, skillId, voyager!.id]);
    const requested = await rest(url, "academy-request", { skillId }, cadet!.token);
    expect(requested.status).toBe(200);
    const requestId = requested.body.requestId as string;
    const accepted = await graphql(url, ACCEPT, { input: { requestId } }, mentor!.token);
    expect(accepted.body.errors).toBeUndefined();
    const simPodId = accepted.body.data.acceptTraining.simPodId as string;
    expect((await graphql(url, JOIN, { input: { simPodId } }, mentor!.token)).body.data.joinSimPod).toEqual({ participant: "MENTOR", roomAdmin: true });

    // Below FOUNDER nobody revokes (another VOYAGER mentor of the skill, the cadet, the mentor), and nothing ends.
    for (const who of [voyager!, cadet!, mentor!]) {
      const refused = await graphql(url, REVOKE, { input: { userId: mentor!.id, skillId } }, who.token);
      expect(codes(refused.body)).toEqual(["INSUFFICIENT_CLEARANCE"]);
    }
    expect(codes((await graphql(url, REVOKE, { input: { userId: mentor!.id, skillId } })).body)).toEqual(["UNAUTHENTICATED"]);
    expect((await graphql(url, JOIN, { input: { simPodId } }, mentor!.token)).body.data.joinSimPod.roomAdmin).toBe(true);

    const revoked = await graphql(url, REVOKE, { input: { userId: mentor!.id, skillId } }, founder!.token);
    expect(revoked.body.errors).toBeUndefined();
    expect(revoked.body.data.revokeMentorCertification.mentorCertification.userId).toBe(mentor!.id);

    // The withdrawn mentor: no token for the pod (GraphQL and REST), no completion, no certifying.
    const join = await graphql(url, JOIN, { input: { simPodId } }, mentor!.token);
    expect(codes(join.body)).toEqual(["NOT_FOUND"]);
    expect(join.body.data?.joinSimPod ?? null).toBeNull();
    const restJoin = await rest(url, "academy-join", { simPodId }, mentor!.token);
    expect([restJoin.status, restJoin.body.error]).toEqual([404, "NOT_FOUND"]);
    expect(codes((await graphql(url, COMPLETE, { input: { requestId } }, mentor!.token)).body)).toEqual(["CONFLICT"]);
    expect(codes((await graphql(url, COMPLETE, { input: { requestId, certify: true } }, mentor!.token)).body)).toEqual(["INSUFFICIENT_CLEARANCE"]);
    // Nobody else gets in: the cadet, another member, anon.
    expect(codes((await graphql(url, JOIN, { input: { simPodId } }, cadet!.token)).body)).toEqual(["NOT_FOUND"]);
    expect(codes((await graphql(url, JOIN, { input: { simPodId } }, other!.token)).body)).toEqual(["NOT_FOUND"]);
    expect(codes((await graphql(url, JOIN, { input: { simPodId } })).body)).toEqual(["UNAUTHENTICATED"]);

    const { rows } = await app.pool.query(
      `select r.status, p.expires_at <= now() as closed,
              exists (select 1 from public.mentor_certifications c where c.user_id = r.cadet_id) as cadet_certified
         from public.academy_requests r join public.sim_pods p on p.id = r.sim_pod_id where r.id = $1`,
      [requestId],
    );
    expect(rows).toEqual([{ status: "CANCELLED", closed: true, cadet_certified: false }]);

    // The cadet asks again, and a mentor who is still certified takes it.
    const again = await rest(url, "academy-request", { skillId }, cadet!.token);
    expect(again.status).toBe(200);
    const retaken = await graphql(url, ACCEPT, { input: { requestId: again.body.requestId } }, voyager!.token);
    expect(retaken.body.data.acceptTraining.connectionTokens).toEqual([{ roomAdmin: true }]);
  });
});

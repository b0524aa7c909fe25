/**
 * Security review: anyone could take over every rescue flare. Sign-up is open, a VAGRANT minutes old lists the
 * OPEN flares and acknowledges one; the requester was told help is on the way, every real responder got CONFLICT,
 * and the requester could only cancel (counted against FLARE_MAX_PER_HOUR) and fire again, for the griefer to take
 * again. Now the requester releases the responder (releaseRescueFlare): the flare is OPEN again, the one released
 * may not take it back, and the release is not a flare fired. The attack, over HTTP, against a production server.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, graphql, postJson, rest } from "../support/http.ts";
import { createMember, tokenFor, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("flare-release", { FLARE_MAX_PER_HOUR: "2" });
const gq = (query: string, variables: Record<string, unknown>, token?: string) => graphql(app.nexus.baseUrl, query, variables, token);

const LIST_OPEN = `{ rescueFlares(condition: { status: OPEN }) { nodes { id location } } }`;
const ACK = `mutation($f: UUID!) { acknowledgeRescueFlare(input: { flareId: $f }) { rescueFlare { status responder { callsign } } } }`;
const RELEASE = `mutation($f: UUID!) { releaseRescueFlare(input: { flareId: $f }) { rescueFlare { id status responder { callsign } acknowledgedAt } } }`;
const CANCEL = `mutation($f: UUID!) { cancelRescueFlare(input: { flareId: $f }) { rescueFlare { status } } }`;
const code = (answer: { body: any }) => answer.body.errors?.map((e: any) => e.extensions?.code);

let requester: Member, voyager: Member, bystander: Member;
let troll: string;
beforeAll(async () => {
  [requester, voyager, bystander] = await Promise.all([createMember(app.pool, "SCOUT"), createMember(app.pool, "VOYAGER"), createMember(app.pool, "PIONEER")]);
  const signup = await postJson(`${app.nexus.baseUrl}/auth/v1/signup`,
    JSON.stringify({ email: "troll@evil.test", password: "password-123", data: { callsign: "Troll1" } }), bearer(await tokenFor(undefined, "anon")));
  expect(signup.status).toBe(200);
  troll = signup.body.access_token;
});

describe("a fresh sign-up takes a rescue flare", () => {
  it("is released by the requester, cannot take it back, and a real responder answers it", async () => {
    const fired = await rest(app.nexus.baseUrl, "handle-rescue-request", { location: "Stanton III - Crusader", flareType: "MEDICAL" }, requester.token);
    expect(fired.status).toBe(200);
    const flareId = fired.body.flareId as string;

    const seen = await gq(LIST_OPEN, {}, troll);
    expect(seen.body.data.rescueFlares.nodes.map((n: any) => n.id)).toEqual([flareId]);
    expect((await gq(ACK, { f: flareId }, troll)).body.data.acknowledgeRescueFlare.rescueFlare).toEqual({ status: "ACKNOWLEDGED", responder: { callsign: "Troll1" } });
    expect(code(await gq(ACK, { f: flareId }, voyager.token))).toEqual(["CONFLICT"]);

    // Nobody but the requester releases: not the griefer, not another member, not anon.
    expect(code(await gq(RELEASE, { f: flareId }, troll))).toEqual(["INSUFFICIENT_CLEARANCE"]);
    expect(code(await gq(RELEASE, { f: flareId }, bystander.token))).toEqual(["INSUFFICIENT_CLEARANCE"]);
    expect(code(await gq(RELEASE, { f: flareId }, undefined))).toEqual(["UNAUTHENTICATED"]);

    const released = await gq(RELEASE, { f: flareId }, requester.token);
    expect(released.body.errors).toBeUndefined();
    expect(released.body.data.releaseRescueFlare.rescueFlare).toEqual({ id: flareId, status: "OPEN", responder: null, acknowledgedAt: null });
    expect(code(await gq(RELEASE, { f: flareId }, requester.token))).toEqual(["CONFLICT"]); // nobody left to release

    // The griefer polls again and sees it OPEN, but may not take it back.
    expect((await gq(LIST_OPEN, {}, troll)).body.data.rescueFlares.nodes.map((n: any) => n.id)).toEqual([flareId]);
    const again = await gq(ACK, { f: flareId }, troll);
    expect(code(again)).toEqual(["INSUFFICIENT_CLEARANCE"]);
    expect(again.body.errors?.[0]?.message).toMatch(/released you from this flare/);

    expect((await gq(ACK, { f: flareId }, voyager.token)).body.data.acknowledgeRescueFlare.rescueFlare).toEqual({
      status: "ACKNOWLEDGED", responder: { callsign: voyager.callsign },
    });
    const { rows: audit } = await app.pool.query("select actor_id, details->>'responder_id' as released from nexus_private.audit_log where action = 'flare.released'");
    expect(audit).toEqual([{ actor_id: requester.id, released: (await app.pool.query("select id from public.profiles where callsign = 'Troll1'")).rows[0].id }]);
  });

  it("releasing does not count against FLARE_MAX_PER_HOUR (2 here): the requester keeps the flares they may fire", async () => {
    const member = await createMember(app.pool, "SCOUT");
    const fire = () => rest(app.nexus.baseUrl, "handle-rescue-request", { location: "Hurston", flareType: "FUEL" }, member.token);
    const first = await fire();
    expect(first.status).toBe(200);
    const responders = await Promise.all([createMember(app.pool, "VAGRANT"), createMember(app.pool, "AFFILIATE"), createMember(app.pool, "SCOUT")]);
    for (const responder of responders) {
      expect(code(await gq(ACK, { f: first.body.flareId }, responder.token))).toBeUndefined();
      expect(code(await gq(RELEASE, { f: first.body.flareId }, member.token))).toBeUndefined();
    }
    expect(code(await gq(CANCEL, { f: first.body.flareId }, member.token))).toBeUndefined();
    expect((await fire()).status).toBe(200); // the second of two, after three releases
  });
});

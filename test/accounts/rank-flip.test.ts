/**
 * Security review: rank changes had no limit. A SCOUT flipped a VAGRANT <-> AFFILIATE as fast as requests went, an
 * audit row each (and a live rights job each while the target was on a net), over single requests and 20 aliased
 * fields in one. public.set_member_rank now charges the caller's bucket (RANK_CHANGE_BURST, RANK_CHANGES_PER_HOUR;
 * 5 and 36 an hour here), in the same transaction as the change. Against a production server, over GraphQL.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("rank-flip", { RANK_CHANGE_BURST: "5", RANK_CHANGES_PER_HOUR: "36" });
const SET = `mutation($m: UUID!, $r: Rank!) { setMemberRank(input: { memberId: $m, newRank: $r }) { clientMutationId } }`;
const audited = async () =>
  (await app.pool.query("select count(*)::int as n from nexus_private.audit_log where action = 'member.rank_changed'")).rows[0].n as number;

let scout: Member, voyager: Member, target: Member;
beforeAll(async () => {
  [scout, voyager, target] = await Promise.all([createMember(app.pool, "SCOUT"), createMember(app.pool, "VOYAGER"), createMember(app.pool, "VAGRANT")]);
});

describe("flipping a member's rank", () => {
  it("stops at the caller's burst: RATE_LIMITED with retryAfter, nothing written past it", async () => {
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 12; i++) {
      const answer = await graphql(app.nexus.baseUrl, SET, { m: target.id, r: i % 2 === 0 ? "AFFILIATE" : "VAGRANT" }, scout.token);
      codes.push(answer.body.errors?.[0]?.extensions?.code);
      if (i === 11) {
        expect(answer.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(99);
        expect(answer.body.errors?.[0]?.message).toMatch(/^too many rank changes: at most 5 at once, then 36 an hour/);
      }
    }
    // Past the burst every change is refused; asking for the rank the target still has is a no-op, free and allowed.
    expect(codes).toEqual([...Array(5).fill(undefined), "RATE_LIMITED", undefined, "RATE_LIMITED", undefined, "RATE_LIMITED", undefined, "RATE_LIMITED"]);
    expect(await audited()).toBe(5);
  });

  it("20 aliased changes in one request are charged one by one", async () => {
    const other = await createMember(app.pool, "SCOUT");
    const before = await audited();
    const fields = Array.from({ length: 20 }, (_, i) =>
      `a${i}: setMemberRank(input: { memberId: "${target.id}", newRank: ${i % 2 === 0 ? "AFFILIATE" : "VAGRANT"} }) { clientMutationId }`).join("\n");
    const answer = await graphql(app.nexus.baseUrl, `mutation {\n${fields}\n}`, undefined, other.token);
    // The target is AFFILIATE: a0 is a no-op, a1-a5 are the five changes, then every change (a6, a8, … a18) is refused.
    expect(answer.body.errors?.map((e: any) => [e.path?.[0], e.extensions?.code])).toEqual(
      [6, 8, 10, 12, 14, 16, 18].map((i) => [`a${i}`, "RATE_LIMITED"]),
    );
    expect((await audited()) - before).toBe(5);
  });

  it("another member's bucket is their own", async () => {
    expect((await graphql(app.nexus.baseUrl, SET, { m: target.id, r: "SCOUT" }, voyager.token)).body.errors).toBeUndefined();
  });
});

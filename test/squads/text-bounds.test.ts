/**
 * Security review: squads.description had no length bound, so an AFFILIATE squad LEAD stored 90 000 characters
 * that every member's `squads` list then returned (voice_nets.description the same, for FOUNDER+). Both are now
 * at most 2000 characters, a CHECK on the table; the refusal is BAD_REQUEST naming the check, over GraphQL against
 * a production server, and the same mapping (core/errors.ts) gives REST its 400. A database already holding a
 * longer description refuses the migration with a sentence naming the rows, rather than truncating them.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATUS, toApiError } from "../../core/errors.ts";
import { migrate, rollback } from "../../core/database/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { graphql } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("text-bounds");
const gq = (query: string, variables: Record<string, unknown>, token?: string) => graphql(app.nexus.baseUrl, query, variables, token);
const UPDATE_SQUAD = `mutation($s: UUID!, $d: String!) { updateSquad(input: { id: $s, patch: { description: $d } }) { squad { id } } }`;
const UPDATE_NET = `mutation($n: UUID!, $d: String!) { updateVoiceNet(input: { id: $n, patch: { description: $d } }) { voiceNet { id } } }`;

let lead: Member, founder: Member, reader: Member;
let squadId: string, netId: string;
beforeAll(async () => {
  [lead, founder, reader] = await Promise.all([createMember(app.pool, "AFFILIATE"), createMember(app.pool, "FOUNDER"), createMember(app.pool, "VAGRANT")]);
  squadId = (await app.pool.query("insert into public.squads (name) values ('Red Wing') returning id")).rows[0].id;
  await app.pool.query("insert into public.squad_members (squad_id, user_id, role) values ($1, $2, 'LEAD')", [squadId, lead.id]);
  netId = (await app.pool.query("insert into public.voice_nets (name, room_name) values ('Red', 'red-wing') returning id")).rows[0].id;
});

describe("unbounded text", () => {
  it("a squad LEAD cannot store 90 000 characters for every member to download", async () => {
    const long = await gq(UPDATE_SQUAD, { s: squadId, d: "x".repeat(90_000) }, lead.token);
    expect(long.body.errors?.map((e: any) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
    expect(long.body.errors?.[0]?.message).toBe("the request is not valid: a value breaks the check squads_description_length");
    expect(long.body.errors?.[0]?.message).not.toMatch(/xxxx/); // the failing row is never echoed
    expect(long.body.data?.updateSquad ?? null).toBeNull();
    expect((await gq(UPDATE_SQUAD, { s: squadId, d: "x".repeat(2001) }, lead.token)).body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect((await gq(UPDATE_SQUAD, { s: squadId, d: "x".repeat(2000) }, lead.token)).body.errors).toBeUndefined();
    const list = await gq("{ squads { nodes { description } } }", {}, reader.token);
    expect(list.body.data.squads.nodes[0].description.length).toBe(2000);
  });

  it("nor a FOUNDER on a voice net", async () => {
    const long = await gq(UPDATE_NET, { n: netId, d: "x".repeat(90_000) }, founder.token);
    expect(long.body.errors?.map((e: any) => [e.extensions?.code, e.message])).toEqual([
      ["BAD_REQUEST", "the request is not valid: a value breaks the check voice_nets_description_length"],
    ]);
    expect((await gq(UPDATE_NET, { n: netId, d: "x".repeat(2000) }, founder.token)).body.errors).toBeUndefined();
  });

  it("REST maps the same refusal to 400 BAD_REQUEST with the same sentence", async () => {
    const refused = await app.pool.query("update public.squads set description = repeat('x', 2001)").catch((e) => e);
    const apiError = toApiError(refused);
    expect([STATUS[apiError.code], apiError.code, apiError.message]).toEqual([400, "BAD_REQUEST", "the request is not valid: a value breaks the check squads_description_length"]);
  });
});

describe("migration 20261204200000 on a database holding a longer description", () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("stops, naming the rows, and runs once they are shortened", async () => {
    const newest = async () => (await pool.query("select max(version)::text as v from dbmate.schema_migrations")).rows[0].v as string;
    while ((await newest()) >= "20261204200000") await rollback(db.url);
    await pool.query("insert into public.squads (name, description) values ('Long Wing', repeat('x', 2500))");
    await expect(migrate(db.url)).rejects.toThrow(/descriptions are limited to 2000 characters; shorten these first, then migrate again: squads: Long Wing \(2500 characters\)/);
    await pool.query("update public.squads set description = left(description, 2000)");
    await migrate(db.url);
    expect(await newest() >= "20261204200000").toBe(true);
  }, 60_000);
});

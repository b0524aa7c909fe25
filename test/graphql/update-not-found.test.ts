/**
 * An update of a row the caller may not change answers NOT_FOUND, as the same delete does (security review F5):
 * updateSquad by a member who neither leads it nor is FOUNDER+, updateProfile of another member's profile, an
 * update of an id that does not exist. Nothing is changed; the caller's own rows still update. Against a
 * production-mode server over HTTP.
 */
import { describe, expect, it } from "vitest";
import { graphql } from "../support/http.ts";
import { createMember } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("update-not-found");

const UPDATE_SQUAD = `mutation($id: UUID!, $p: SquadPatch!) { updateSquad(input: { id: $id, patch: $p }) { squad { name } } }`;
const DELETE_SQUAD = `mutation($id: UUID!) { deleteSquad(input: { id: $id }) { squad { id } } }`;
const UPDATE_PROFILE = `mutation($id: UUID!, $c: String!) { updateProfile(input: { id: $id, patch: { callsign: $c } }) { profile { callsign } } }`;

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) => body.errors?.map((e) => e.extensions?.code);

describe("an update of a row the caller may not change", () => {
  it("is NOT_FOUND, like the delete, and changes nothing; the caller's own rows update", async () => {
    const url = app.nexus.baseUrl;
    const [scout, voyager, founder] = await Promise.all((["SCOUT", "VOYAGER", "FOUNDER"] as const).map((r) => createMember(app.pool, r)));
    const squadId = (await app.pool.query<{ id: string }>("insert into public.squads (name) values ('Red Wing') returning id")).rows[0]!.id;

    for (const who of [scout!, voyager!]) {
      const updated = await graphql(url, UPDATE_SQUAD, { id: squadId, p: { name: "Hijacked" } }, who.token);
      expect(codes(updated.body)).toEqual(["NOT_FOUND"]);
      expect(updated.body.data?.updateSquad ?? null).toBeNull();
      const deleted = await graphql(url, DELETE_SQUAD, { id: squadId }, who.token);
      expect(codes(deleted.body), "the delete answers the same").toEqual(["NOT_FOUND"]);
    }
    const unknown = await graphql(url, UPDATE_SQUAD, { id: "00000000-0000-4000-8000-000000000000", p: { name: "Nobody's" } }, founder!.token);
    expect(codes(unknown.body)).toEqual(["NOT_FOUND"]);
    expect((await app.pool.query("select name from public.squads where id = $1", [squadId])).rows).toEqual([{ name: "Red Wing" }]);

    const other = await graphql(url, UPDATE_PROFILE, { id: voyager!.id, c: "Pwned" }, scout!.token);
    expect(codes(other.body)).toEqual(["NOT_FOUND"]);
    expect(other.body.data?.updateProfile ?? null).toBeNull();
    expect((await app.pool.query("select callsign from public.profiles where id = $1", [voyager!.id])).rows[0].callsign).not.toBe("Pwned");

    // What the caller may change still updates, with no error.
    const renamed = await graphql(url, UPDATE_SQUAD, { id: squadId, p: { name: "Blue Wing" } }, founder!.token);
    expect(renamed.body).toEqual({ data: { updateSquad: { squad: { name: "Blue Wing" } } } });
    const own = await graphql(url, UPDATE_PROFILE, { id: scout!.id, c: "Scout Prime" }, scout!.token);
    expect(own.body).toEqual({ data: { updateProfile: { profile: { callsign: "Scout Prime" } } } });
  });
});

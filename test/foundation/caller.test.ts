/**
 * core/database/caller.ts: statements run as the caller in one round trip. The promises of begin/set_config/commit
 * must hold without them: the caller's role and claims apply to the statements (privileges, RLS, auth.uid()) and to
 * nothing after; the batch is one transaction; nothing runs if the settings fail; a failed batch leaves the
 * connection usable.
 */
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgSettingsFor } from "../../core/jwt.ts";
import { makeAsCaller, NODE_POSTGRES_VERIFIED, type AsCaller } from "../../core/database/caller.ts";
import { createPool } from "../../core/database/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { createMember, type Member } from "../support/members.ts";

let db: TestDatabase;
let pool: pg.Pool;
let asCaller: AsCaller;
let vagrant: Member;
let founder: Member;

const as = (member: Member) => pgSettingsFor({ sub: member.id, role: "authenticated", aud: "authenticated", exp: Math.floor(Date.now() / 1000) + 600 });
const WHO = { name: "test_caller_who", text: "select current_user::text as role, auth.uid() as uid, auth.rank()::text as rank", values: [] };
const NETS = { name: "test_caller_nets", text: "select room_name from public.voice_nets order by room_name", values: [] };
/** A write as the caller (their own callsign, which RLS lets a member change and anon may not touch), and whether it stuck. */
const RENAME = (marker: string) => ({ name: "test_caller_rename", text: "update public.profiles set callsign = $1 where id = auth.uid()", values: [marker] });
const renamed = async (marker: string) => (await pool.query("select count(*)::int as n from public.profiles where callsign = $1", [marker])).rows[0].n;

beforeAll(async () => {
  db = await createTestDatabase();
  // One connection, so every batch and every check below share it: whatever leaks would be seen.
  pool = createPool(db.url, undefined, 1);
  asCaller = makeAsCaller(pool);
  vagrant = await createMember(pool, "VAGRANT");
  founder = await createMember(pool, "FOUNDER");
  await pool.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                    values ('Open', 'open-net', 'VAGRANT', 'VAGRANT', 'VAGRANT'), ('Command', 'command-net', 'FOUNDER', 'FOUNDER', 'FOUNDER')`);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe("the node-postgres internals caller.ts rests on", () => {
  const require = createRequire(import.meta.url);
  // The version of the package node resolves from pg's own folder (what pg loads), read from its package.json.
  const versionOf = (name: string) => {
    let dir = path.dirname(require.resolve(name, { paths: [path.dirname(require.resolve("pg"))] }));
    while (!existsSync(path.join(dir, "package.json")) || JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).name !== name) dir = path.dirname(dir);
    return (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;
  };

  it("are the versions it was verified with: pg pinned exactly in package.json, and pg and pg-protocol installed at those", () => {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> };
    expect(manifest.dependencies.pg).toBe(NODE_POSTGRES_VERIFIED.pg);
    const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
    expect(lock.packages[""]!.dependencies!.pg).toBe(NODE_POSTGRES_VERIFIED.pg);
    expect(lock.packages["node_modules/pg"]!.version).toBe(NODE_POSTGRES_VERIFIED.pg);
    expect(lock.packages["node_modules/pg-protocol"]!.version).toBe(NODE_POSTGRES_VERIFIED["pg-protocol"]);
    expect(versionOf("pg")).toBe(NODE_POSTGRES_VERIFIED.pg);
    expect(versionOf("pg-protocol")).toBe(NODE_POSTGRES_VERIFIED["pg-protocol"]);
  });

  it("still have the shapes it calls: Result's row builders, utils.prepareValue, the Connection's message writers", () => {
    const Result = (pg as unknown as { Result: { prototype: Record<string, unknown> } }).Result;
    for (const method of ["addFields", "parseRow", "addRow", "addCommandComplete"]) expect(typeof Result.prototype[method], `Result.${method}`).toBe("function");
    expect(typeof (pg as unknown as { utils: { prepareValue: unknown } }).utils.prepareValue).toBe("function");
    const Connection = (pg as unknown as { Connection: { prototype: Record<string, unknown> } }).Connection;
    for (const method of ["parse", "bind", "describe", "execute", "close", "sync"]) expect(typeof Connection.prototype[method], `Connection.${method}`).toBe("function");
  });
});

describe("statements as the caller in one round trip", () => {
  it("run with the caller's role and JWT claims, and only those statements: the connection is back to its own role after", async () => {
    const [who] = await asCaller(as(vagrant), [WHO]);
    expect(who!.rows).toEqual([{ role: "authenticated", uid: vagrant.id, rank: "VAGRANT" }]);
    const after = await pool.query("select current_user::text as role, current_setting('request.jwt.claims', true) as claims");
    expect(after.rows[0].role).not.toBe("authenticated");
    expect(after.rows[0].claims ?? "").toBe("");
  });

  it("are subject to row level security as the caller: each member sees only the nets they may join", async () => {
    const [asVagrant] = await asCaller(as(vagrant), [NETS]);
    const [asFounder] = await asCaller(as(founder), [NETS]);
    expect(asVagrant!.rows.map((r) => r.room_name)).toEqual(["open-net"]);
    expect(asFounder!.rows.map((r) => r.room_name)).toEqual(["command-net", "open-net"]);
  });

  it("give each statement's rows in order", async () => {
    const results = await asCaller(as(founder), [NETS, WHO, { name: "test_caller_two", text: "select $1::int + 1 as n", values: [1] }]);
    expect(results.map((r) => r.rows)).toEqual([
      [{ room_name: "command-net" }, { room_name: "open-net" }],
      [{ role: "authenticated", uid: founder.id, rank: "FOUNDER" }],
      [{ n: 2 }],
    ]);
  });

  it("are one transaction: when a later statement fails, what an earlier one wrote is rolled back", async () => {
    await expect(
      asCaller(as(vagrant), [RENAME("caller.rolled_back"), { name: "test_caller_fail", text: "select 1 / $1::int", values: [0] }]),
    ).rejects.toMatchObject({ code: "22012" });
    expect(await renamed("caller.rolled_back")).toBe(0);
    await asCaller(as(vagrant), [RENAME("caller.committed")]);
    expect(await renamed("caller.committed")).toBe(1);
  });

  it("do not run at all when the caller's settings cannot be applied (an unknown role)", async () => {
    await expect(asCaller({ role: "no_such_role" }, [RENAME("caller.without_settings")])).rejects.toMatchObject({ code: "22023" });
    expect(await renamed("caller.without_settings")).toBe(0);
  });

  it("raise the database's rule violations with their codes, as withPgClient does", async () => {
    // anon may not write profiles at all: a privilege error, not a silent success.
    await expect(asCaller(pgSettingsFor(null), [RENAME("caller.anon")])).rejects.toMatchObject({ code: "42501" });
    expect(await renamed("caller.anon")).toBe(0);
  });

  it("keep working after failures, including a statement that does not parse", async () => {
    await expect(asCaller(as(vagrant), [{ name: "test_caller_bad_sql", text: "selec 1", values: [] }])).rejects.toMatchObject({ code: "42601" });
    await expect(
      asCaller(as(vagrant), [{ name: "test_caller_new", text: "select 1 as one", values: [] }, { name: "test_caller_fail", text: "select 1 / $1::int", values: [0] }]),
    ).rejects.toMatchObject({ code: "22012" });
    const [one, who] = await asCaller(as(founder), [{ name: "test_caller_new", text: "select 1 as one", values: [] }, WHO]);
    expect(one!.rows).toEqual([{ one: 1 }]);
    expect(who!.rows[0].uid).toBe(founder.id);
  });

  it("refuse a value that cannot be sent before writing anything, and the connection keeps working", async () => {
    await expect(asCaller(as(vagrant), [{ name: "test_caller_json", text: "select $1::jsonb as doc", values: [{ big: 1n }] }])).rejects.toThrow(
      /BigInt/,
    );
    const [doc, who] = await asCaller(as(vagrant), [{ name: "test_caller_json", text: "select $1::jsonb as doc", values: [{ small: 1 }] }, WHO]);
    expect(doc!.rows).toEqual([{ doc: { small: 1 } }]);
    expect(who!.rows[0].uid).toBe(vagrant.id);
  });

  it("refuse a pooled connection left inside a transaction, whose settings would outlive the batch", async () => {
    const client = await pool.connect();
    await client.query("begin");
    client.release();
    await expect(asCaller(as(vagrant), [WHO])).rejects.toThrow(/transaction/);
    // That connection was dropped; the next one is clean.
    const [who] = await asCaller(as(vagrant), [WHO]);
    expect(who!.rows[0].uid).toBe(vagrant.id);
  });

  it("fail with the likely cause when the connection's prepared statements are not the ones it prepared (a transaction pooler)", async () => {
    await asCaller(as(vagrant), [WHO]);
    // What a transaction-mode pooler does to a client: the next transaction runs on a backend that never saw them.
    await pool.query("deallocate all");
    await expect(asCaller(as(vagrant), [WHO])).rejects.toThrow(/transaction-mode pooler .*docs\/scaling\.md/);
    // Or one that already has them, under a name this connection has not prepared yet.
    const [who] = await asCaller(as(vagrant), [WHO]);
    expect(who!.rows[0].uid).toBe(vagrant.id);
    await pool.query("prepare test_caller_taken as select 1");
    await expect(asCaller(as(vagrant), [{ name: "test_caller_taken", text: "select 2 as two", values: [] }])).rejects.toThrow(/transaction-mode pooler/);
    // Each time the connection was dropped, so its bookkeeping starts again on a fresh one.
    const [two] = await asCaller(as(founder), [{ name: "test_caller_taken", text: "select 2 as two", values: [] }]);
    expect(two!.rows).toEqual([{ two: 2 }]);
  });
});

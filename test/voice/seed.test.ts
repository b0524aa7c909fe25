/**
 * `npm run db:seed`: development members of every rank with the documented passwords, a squad and nets across
 * the ladder; idempotent; refused when NODE_ENV=production.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

let db: TestDatabase;
let pool: pg.Pool;

function seed(env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), "db", "seed"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, NODE_ENV: "development", LOG_LEVEL: "silent", ...env },
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on("error", () => {}); // an idle connection ended by the database drop at the end is not a test failure
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe("db seed", () => {
  it("is refused when NODE_ENV=production and writes nothing", async () => {
    const run = seed({ NODE_ENV: "production" });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/refused: NODE_ENV=production/);
    const { rows } = await pool.query("select count(*)::int as n from public.profiles");
    expect(rows[0].n).toBe(0);
  });

  it("creates a member of every rank with the documented password, a squad and gated nets, and can run twice", async () => {
    const first = seed();
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/SCOUT\s+Scout1\s+scout@nomadnexus.dev\s+scout-dev-password/);
    const second = seed();
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);

    const { rows: members } = await pool.query("select p.callsign, p.rank::text from public.profiles p order by p.rank");
    expect(members).toEqual(
      ["VAGRANT", "AFFILIATE", "SCOUT", "VOYAGER", "FOUNDER", "PIONEER"].map((rank) => ({
        callsign: rank[0] + rank.slice(1).toLowerCase() + "1",
        rank,
      })),
    );
    const { rows: signIn } = await pool.query("select (auth.sign_in('scout@nomadnexus.dev', 'scout-dev-password')).user_id as id");
    expect(signIn[0].id).toBe((await pool.query("select id from public.profiles where callsign = 'Scout1'")).rows[0].id);

    const { rows: nets } = await pool.query(
      "select room_name, min_rank_to_join::text j, min_rank_to_rx::text x, min_rank_to_tx::text t from public.voice_nets where room_name = 'test-room'",
    );
    expect(nets).toEqual([{ room_name: "test-room", j: "VAGRANT", x: "VAGRANT", t: "SCOUT" }]);
    const { rows: counts } = await pool.query(
      `select (select count(*)::int from public.voice_nets) nets, (select count(*)::int from public.squad_members) squad_members,
              (select count(*)::int from public.voice_net_bridges) bridges`,
    );
    expect(counts[0]).toEqual({ nets: 7, squad_members: 2, bridges: 1 });
  });
});

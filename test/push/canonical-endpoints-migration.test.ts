/**
 * Migration 20261203170000 writes the push endpoints stored before subscribe_push kept one spelling (or brought
 * over as the old Supabase database had them) in that spelling, and keeps one row per device: one device written
 * two ways was two rows, paged twice. The migration is run for real: rolled back, rows written as an older release
 * (or the import) stored them, migrated again.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, rollback } from "../../core/database/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { createMember } from "../support/members.ts";

const P256DH = "BB352rV3H-rXRiQi64a0BzoCh9jM8m6j9y0Fq6nwGY8esbybTMQ8w7s977cnOT7ULnI8gVjvCvHiiHXhpm2KPYs";
const AUTH = "cQki06ubNJnY7UnPlCN1hA";

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

const MIGRATION = "20261203170000";

/** Roll back the migrations newer than `version` (later ones came after it), then `version` itself. */
async function rollBackThrough(version: string) {
  const newest = async () =>
    (await pool.query<{ version: string }>("select max(version)::text as version from dbmate.schema_migrations")).rows[0]!.version;
  expect(await newest() >= version).toBe(true);
  while ((await newest()) >= version) await rollback(db.url);
}

describe(`migration ${MIGRATION}: push endpoints in one spelling, one row per device`, () => {
  it("rewrites old spellings, keeps the canonical row (else the newest) of a device written several ways", async () => {
    await rollBackThrough(MIGRATION);
    const [ada, bea, cal] = [await createMember(pool, "SCOUT"), await createMember(pool, "SCOUT"), await createMember(pool, "SCOUT")];
    const add = (user: string, endpoint: string, age: string) =>
      pool.query(
        `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth, created_at) values ($1, $2, $3, $4, now() - $5::interval) returning id`,
        [user, endpoint, P256DH, AUTH, age],
      );
    // One device, two spellings, neither canonical: the newer row (bea's: the device signed in as bea later) stays.
    await add(ada.id, "https://FCM.googleapis.com/fcm/send/one", "2 days");
    const kept = (await add(bea.id, "https://fcm.googleapis.com:443/fcm/send/one", "1 day")).rows[0].id;
    // Another device: already stored canonically once, and once more in an old spelling: the canonical row stays.
    const canonical = (await add(cal.id, "https://fcm.googleapis.com/fcm/send/two", "3 days")).rows[0].id;
    await add(cal.id, "https://FCM.GOOGLEAPIS.COM/fcm/send/two", "1 hour");
    // Alone in an old spelling: rewritten. A path keeps its case.
    const alone = (await add(ada.id, "https://Updates.Push.Services.Mozilla.com/wpush/v2/AbC", "1 day")).rows[0].id;

    await migrate(db.url);
    const { rows } = await pool.query<{ id: string; user_id: string; endpoint: string }>(
      "select id, user_id, endpoint from public.push_subscriptions order by endpoint",
    );
    expect(rows).toEqual([
      { id: kept, user_id: bea.id, endpoint: "https://fcm.googleapis.com/fcm/send/one" },
      { id: canonical, user_id: cal.id, endpoint: "https://fcm.googleapis.com/fcm/send/two" },
      { id: alone, user_id: ada.id, endpoint: "https://updates.push.services.mozilla.com/wpush/v2/AbC" },
    ]);
    // Migrating again changes nothing; rolling back keeps the spelling.
    await rollBackThrough(MIGRATION);
    await migrate(db.url);
    expect((await pool.query("select id, user_id, endpoint from public.push_subscriptions order by endpoint")).rows).toEqual(rows);
  }, 60_000);
});

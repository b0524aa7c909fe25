/**
 * A test database is dropped once what was connected to it has gone: a client still closing (as pg.Pool's end()
 * leaves them) ends cleanly instead of being terminated by the drop, whose FATAL would be an uncaught error in the
 * test process after the tests had passed (test/support/db.ts).
 */
import pg from "pg";
import { expect, it } from "vitest";
import { adminQuery, createTestDatabase } from "../support/db.ts";

it("waits for a connection that is closing, and ends one that stays", async () => {
  const db = await createTestDatabase({ empty: true });
  const closing = new pg.Client({ connectionString: db.url });
  const errors: string[] = [];
  closing.on("error", (error: Error & { code?: string }) => errors.push(error.code ?? error.message));
  await closing.connect();
  const dropped = db.drop();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await closing.end();
  await dropped;
  expect(errors).toEqual([]);
  expect((await adminQuery("select count(*)::int as n from pg_database where datname = $1", [db.name])).rows).toEqual([{ n: 0 }]);

  // A connection that never goes (a leak) does not keep the database: after the wait, the drop ends it.
  const leaked = await createTestDatabase({ empty: true });
  const stays = new pg.Client({ connectionString: leaked.url });
  const ended = new Promise<string>((resolve) => stays.on("error", (error: Error & { code?: string }) => resolve(error.code ?? error.message)));
  await stays.connect();
  await leaked.drop();
  expect(await ended).toBe("57P01");
  expect((await adminQuery("select count(*)::int as n from pg_database where datname = $1", [leaked.name])).rows).toEqual([{ n: 0 }]);
}, 30_000);

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import path from "node:path";
import { dbmate, migrate, rollback, ROOT } from "../../core/database/migrate.ts";
import { adminQuery, createTestDatabase, type TestDatabase } from "../support/db.ts";

/** The shape of a schema, to compare before and after a full rollback and re-migrate. */
async function schemaShape(db: TestDatabase) {
  const { rows } = await adminQuery(
    `select table_schema || '.' || table_name || '.' || column_name || ':' || data_type as c
       from information_schema.columns
      where table_schema in ('public', 'auth', 'nexus_private')
      order by 1`,
    [],
    db.name,
  );
  const policies = await adminQuery(`select tablename || '.' || policyname as p from pg_policies order by 1`, [], db.name);
  return { columns: rows.map((r) => r.c), policies: policies.rows.map((r) => r.p) };
}

describe("migrations", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
  });
  afterAll(async () => db?.drop());

  it("migrate, roll back every migration, migrate again: same schema", async () => {
    await migrate(db.url);
    const first = await schemaShape(db);
    expect(first.columns).toContain("public.profiles.rank:USER-DEFINED");
    const applied = (await dbmate(db.url, ["status"])).match(/\[X\]/g)?.length ?? 0;
    expect(applied).toBeGreaterThan(0);
    for (let i = 0; i < applied; i++) await rollback(db.url);
    const empty = await schemaShape(db);
    expect(empty.columns.filter((c: string) => !c.startsWith("dbmate."))).toEqual([]);
    await migrate(db.url);
    expect(await schemaShape(db)).toEqual(first);
  });

  it("every migration has a number of its own (dbmate knows a migration by it; two branches can pick the same one)", () => {
    const versions = readdirSync(path.join(ROOT, "db/migrations")).filter((f) => f.endsWith(".sql")).map((f) => /^(\d{14})_/.exec(f)?.[1] ?? f);
    expect(versions.filter((v) => !/^\d{14}$/.test(v)), "named <14 digits>_<what>.sql").toEqual([]);
    expect(versions.filter((v, i) => versions.indexOf(v) !== i), "used twice").toEqual([]);
  });

  it("every public table has row level security enabled", async () => {
    const { rows } = await adminQuery(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity`,
      [],
      db.name,
    );
    expect(rows).toEqual([]);
  });

  it("migrating twice is a no-op", async () => {
    const before = await schemaShape(db);
    await migrate(db.url);
    expect(await schemaShape(db)).toEqual(before);
  });
});

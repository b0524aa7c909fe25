/**
 * A fresh database per test file, copied from the migrated template that `npm test` prepared on its throwaway
 * cluster. Copying a template takes milliseconds, so files never share rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.NEXUS_TEST_ADMIN_URL;
  if (!url) throw new Error("NEXUS_TEST_ADMIN_URL is not set: run the tests with `npm test`, which starts the database");
  return url;
}

export async function adminQuery<T extends pg.QueryResultRow = any>(sql: string, values: unknown[] = [], database?: string) {
  const url = new URL(adminUrl());
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await client.query<T>(sql, values);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `nexus_t_${randomBytes(5).toString("hex")}`;
  const template = options.empty ? "template0" : process.env.NEXUS_TEST_TEMPLATE ?? "nexus_template";
  await adminQuery(`create database ${name} template ${template}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

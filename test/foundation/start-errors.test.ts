import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../core/net.ts";
import { runNode } from "../support/child.ts";
import { adminQuery, createTestDatabase, type TestDatabase } from "../support/db.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

/** What `npm start` says when it cannot start: one line, exit 1, and nothing started before it. */
let empty: TestDatabase;
let holder: net.Server;
let takenPort: number;

beforeAll(async () => {
  empty = await createTestDatabase({ empty: true });
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, resolve));
  takenPort = (holder.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => holder?.close(resolve));
  await empty?.drop();
});

describe("npm start refuses to start", () => {
  it("on a port in use: one line, exit 1, before it migrates or starts a worker", async () => {
    const env = { PATH: process.env.PATH, DATABASE_URL: empty.url, JWT_SECRET: TEST_JWT_SECRET, PORT: String(takenPort), LOG_LEVEL: "info" };
    const { code, output } = await runNode("main.ts", [], { env });
    expect(code).toBe(1);
    expect(output).toBe(`port ${takenPort} is in use: set PORT\n`);
    const { rows } = await adminQuery("select count(*)::int as n from pg_namespace where nspname in ('dbmate', 'graphile_worker', 'nexus_private')", [], empty.name);
    expect(rows[0].n, "nothing was migrated, no worker schema installed").toBe(0);
  });

  it("on a HOST that is no address of this machine, or not an address at all: one line naming HOST", async () => {
    const base = { PATH: process.env.PATH, DATABASE_URL: empty.url, JWT_SECRET: TEST_JWT_SECRET, PORT: String(await freePort()), LOG_LEVEL: "info" };
    const foreign = await runNode("main.ts", [], { env: { ...base, HOST: "192.0.2.1" } });
    expect(foreign.code).toBe(1);
    expect(foreign.output).toBe("HOST 192.0.2.1 is not an address of this machine: set HOST\n");
    const word = await runNode("main.ts", [], { env: { ...base, HOST: "example.org" } });
    expect(word.code).toBe(1);
    expect(word.output).toMatch(/^config: HOST must be an IP address .*\n$/);
    const { rows } = await adminQuery("select count(*)::int as n from pg_namespace where nspname in ('dbmate', 'graphile_worker', 'nexus_private')", [], empty.name);
    expect(rows[0].n, "nothing was migrated").toBe(0);
  });

  it("on a LOG_LEVEL it does not know: one line naming it, no stack trace", async () => {
    const env = { PATH: process.env.PATH, DATABASE_URL: empty.url, JWT_SECRET: TEST_JWT_SECRET, PORT: String(await freePort()), LOG_LEVEL: "verbose" };
    const { code, output } = await runNode("main.ts", [], { env });
    expect(code).toBe(1);
    expect(output).toMatch(/^config: LOG_LEVEL [^\n]*\n$/);
  });

  it("on an unreachable database in production: one line naming its host", async () => {
    const closed = await freePort();
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      DATABASE_URL: `postgres://nexus:secret@127.0.0.1:${closed}/nexus`,
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: String(await freePort()),
    };
    const { code, output } = await runNode("main.ts", [], { env });
    expect(code).toBe(1);
    expect(output).toBe(`the database at 127.0.0.1:${closed} does not answer (ECONNREFUSED): check DATABASE_URL\n`);
  });
});

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

/**
 * A TCP proxy to Postgres that drops the `options` startup parameter from each connection's startup message, as a
 * pooler that does not pass it on would; everything else goes through unchanged.
 */
async function optionsDroppingProxy(target: URL): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    let first = true;
    let pending = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      if (!first) return void upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 8 || pending.length < pending.readInt32BE(0)) return;
      const length = pending.readInt32BE(0);
      const code = pending.readInt32BE(4);
      if (code === 80877103) {
        // SSLRequest: answer "no SSL" ourselves; the startup message follows.
        client.write("N");
        pending = pending.subarray(length);
        return;
      }
      first = false;
      const fields = pending.subarray(8, length - 1).toString("utf8").split("\0");
      const kept: string[] = [];
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] !== "options") kept.push(fields[i]!, fields[i + 1]!);
      const body = Buffer.from(`${kept.join("\0")}\0\0`, "utf8");
      const header = Buffer.alloc(8);
      header.writeInt32BE(body.length + 8, 0);
      header.writeInt32BE(code, 4);
      upstream.write(Buffer.concat([header, body, pending.subarray(length)]));
    });
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("npm start refuses to start", () => {
  it("a worker whose connections do not run as nexus_worker (its role's startup option dropped on the way): one line, exit 1", async () => {
    const db = await createTestDatabase();
    const target = new URL(db.url);
    const proxy = await optionsDroppingProxy(target);
    try {
      // The test cluster's login is a superuser: without the role switch, jobs would run with every right.
      const through = new URL(db.url);
      through.hostname = "127.0.0.1";
      through.port = String(proxy.port);
      const env = { PATH: process.env.PATH, DATABASE_URL: through.toString(), JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "info" };
      const { code, output } = await runNode("main.ts", ["--worker"], { env });
      expect(code, output).toBe(1);
      expect(output).toMatch(/the worker's database connections run as \S+, not nexus_worker: connect the worker to Postgres directly/);
      expect(output).not.toContain("worker started");
    } finally {
      await proxy.close();
      await db.drop();
    }
  });

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

import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../core/net.ts";
import { spawnNode, type NodeChild } from "../support/child.ts";
import { graphql } from "../support/http.ts";

/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, no secrets. The embedded Postgres starts in the data
 * folder, and a member registered before a restart can sign in after it.
 */
const dataDir = mkdtempSync(path.join(os.tmpdir(), "nexus-start-"));
chmodSync(dataDir, 0o755); // as root, Postgres runs as its own user and must reach its folder
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function start(port: number): Promise<NodeChild> {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXUS_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "info" };
  delete env.DATABASE_URL;
  delete env.JWT_SECRET;
  delete env.NODE_ENV;
  const nexus = spawnNode("main.ts", [], { env, detached: true });
  await nexus.waitFor("GraphQL:", 90_000);
  return nexus;
}

const gql = async (port: number, query: string, variables: Record<string, unknown>) =>
  (await graphql(`http://127.0.0.1:${port}`, query, variables)).body as any;

describe("npm start with no configuration", () => {
  it("serves GraphQL on an embedded Postgres that keeps members across restarts", async () => {
    const port = await freePort();
    const first = await start(port);
    expect(first.output()).toContain(`GraphQL:   http://localhost:${port}/graphql`);
    expect(first.output()).toContain(`Webhook:   http://localhost:${port}/livekit/webhook`);
    const reg = await gql(port, `mutation($i: RegisterInput!) { register(input: $i) { userId } }`, {
      i: { email: "first@example.org", password: "persistent-1", callsign: "Persist" },
    });
    expect(reg.errors).toBeUndefined();
    // Ctrl-C: the process group is interrupted, as a terminal does. Connections close before Postgres stops, so
    // nothing is logged as lost, and nothing at warning level or above.
    expect(await first.interrupt()).toBe(0);
    const shutdown = first.output().slice(first.output().indexOf('"msg":"shutting down"'));
    expect(shutdown.split("\n").filter((l) => /"level":(4|5|6)0/.test(l))).toEqual([]);
    expect(existsSync(path.join(dataDir, "pg/postmaster.pid")), "the embedded Postgres stopped with it").toBe(false);

    const second = await start(port);
    const auth = await gql(port, `mutation($i: AuthenticateInput!) { authenticate(input: $i) { userId jwtToken } }`, {
      i: { email: "first@example.org", password: "persistent-1" },
    });
    expect(auth.data.authenticate.userId).toBe(reg.data.register.userId);
    expect(second.output()).not.toContain("initialising embedded postgres");
    expect(await second.stop()).toBe(0);
  }, 180_000);
});

describe("npm start from a folder the postgres user cannot enter (a clone under /root)", () => {
  it.runIf(process.getuid?.() === 0)("keeps the database where that user can reach it, and says where", async () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), "nexus-locked-")); // mode 0700, owned by root
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, NEXUS_DATA_DIR: path.join(locked, "data"), PORT: String(port), LOG_LEVEL: "info" };
    delete env.DATABASE_URL;
    delete env.JWT_SECRET;
    delete env.NODE_ENV;
    const nexus = spawnNode("main.ts", [], { env, detached: true });
    try {
      await nexus.waitFor("GraphQL:", 120_000);
      const moved = /the embedded database lives in (\S+)"/.exec(nexus.output())?.[1];
      expect(moved, "the log names where the database went").toMatch(/^\/var\/lib\/nomadnexus\/data-[0-9a-f]{16}$/);
      const answer = await gql(port, "query { __typename }", {});
      expect(answer).toEqual({ data: { __typename: "Query" } });
      expect(await nexus.interrupt()).toBe(0);
      rmSync(moved!, { recursive: true, force: true });
    } finally {
      await nexus.stop("SIGKILL");
      rmSync(locked, { recursive: true, force: true });
    }
  }, 180_000);
});

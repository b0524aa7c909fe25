import { chmodSync, mkdtempSync, rmSync } from "node:fs";
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
  const nexus = spawnNode("main.ts", [], { env });
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
    expect(await first.stop()).toBe(0);

    const second = await start(port);
    const auth = await gql(port, `mutation($i: AuthenticateInput!) { authenticate(input: $i) { userId jwtToken } }`, {
      i: { email: "first@example.org", password: "persistent-1" },
    });
    expect(auth.data.authenticate.userId).toBe(reg.data.register.userId);
    expect(second.output()).not.toContain("initialising embedded postgres");
    expect(await second.stop()).toBe(0);
  }, 180_000);
});

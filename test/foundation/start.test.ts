import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { freePort } from "../../core/net.ts";

/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, no secrets. The embedded Postgres starts in the data
 * folder, and a member registered before a restart can sign in after it.
 */
const dataDir = mkdtempSync(path.join(os.tmpdir(), "nexus-start-"));
chmodSync(dataDir, 0o755); // as root, Postgres runs as its own user and must reach its folder
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));


async function start(port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXUS_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "info" };
  delete env.DATABASE_URL;
  delete env.JWT_SECRET;
  delete env.NODE_ENV;
  const child = spawn(process.execPath, [path.join(ROOT, "main.ts")], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const until = Date.now() + 90_000;
  while (!out.includes("GraphQL:")) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > until) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

async function gql(port: number, query: string, variables: object) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

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
    expect(await stop(first.child)).toBe(0);

    const second = await start(port);
    const auth = await gql(port, `mutation($i: AuthenticateInput!) { authenticate(input: $i) { userId jwtToken } }`, {
      i: { email: "first@example.org", password: "persistent-1" },
    });
    expect(auth.data.authenticate.userId).toBe(reg.data.register.userId);
    expect(second.output()).not.toContain("initialising embedded postgres");
    expect(await stop(second.child)).toBe(0);
  }, 180_000);
});

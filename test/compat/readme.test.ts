/**
 * README's "Try it" as a newcomer pastes it: every ```sh block of that section, verbatim, one after the other in
 * one bash (stopping at the first failing command), at the repository's root, against a running server.
 * Only where the server is differs: API (which the block itself defaults to http://localhost:4000) and the
 * database the npm commands reach (DATABASE_URL, as npm start's).
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: LIVEKIT_ENV });
});
afterAll(async () => t?.close());

/** The ```sh blocks of the README section whose heading is `title`. */
function shellBlocks(markdown: string, title: string): string[] {
  const heading = new RegExp(`^(#{2,3}) ${title}\\s*$`, "m").exec(markdown);
  if (!heading) throw new Error(`README has no "${title}" section`);
  const rest = markdown.slice(heading.index + heading[0].length);
  const next = new RegExp(`^#{2,${heading[1]!.length}} `, "m").exec(rest);
  const section = next ? rest.slice(0, next.index) : rest;
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("README: Try it", () => {
  it("runs as pasted against a started server", async () => {
    const blocks = shellBlocks(await readFile(path.join(ROOT, "README.md"), "utf8"), "Try it");
    expect(blocks.length).toBeGreaterThan(0);
    const env: NodeJS.ProcessEnv = { ...process.env, ...LIVEKIT_ENV, API: t.baseUrl, DATABASE_URL: t.db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn" };
    delete env.NODE_ENV;
    const { code, output } = await bash(blocks.join("\n"), env);
    expect(code, output).toBe(0);
    expect(output).toContain('{"data":{"currentProfile":{"callsign":"Scout1","rank":"SCOUT"}}}');
    expect(output).toMatch(/"token":"[\w-]+\.[\w-]+\.[\w-]+"/);
    expect(output).toMatch(/^ *Ops +\| FOUNDER *$/m);
  }, 120_000);
});

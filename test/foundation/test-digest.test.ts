/**
 * `npm test` ends with a few lines naming what failed, above its closing line (scripts/test-digest.ts): CI logs
 * are read from their end. Real vitest and pg_prove runs on fixtures that fail, read the way scripts/test.ts does.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { pgTapDigest, vitestDigest } from "../../scripts/test-digest.ts";
import { adminQuery, createTestDatabase } from "../support/db.ts";

const FIXTURES = path.join(ROOT, "test/fixtures/digest");

describe("npm test's digest of failures", () => {
  it("names a failed test and an unhandled error thrown in teardown, with its file and frame", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-digest-"));
    try {
      const report = path.join(dir, "report.json");
      const run = spawnSync(
        process.execPath,
        [path.join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--root", FIXTURES, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`],
        { cwd: FIXTURES, encoding: "utf8", env: { PATH: process.env.PATH, FORCE_COLOR: "1" }, timeout: 60_000 },
      );
      expect(run.status).toBe(1);
      const digest = vitestDigest(JSON.parse(readFileSync(report, "utf8")), run.stdout + run.stderr, FIXTURES);
      expect(digest).toHaveLength(2);
      expect(digest[0]).toMatch(/^# failed: fails\.fixture\.ts > compares two numbers: AssertionError: expected 2 to be 3/);
      expect(digest[1]).toMatch(
        /^# Uncaught Exception: Error: thrown after the tests, in teardown \(teardown-throws\.fixture\.ts; at .*teardown-throws\.fixture\.ts:\d+:\d+\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names a pgTAP file that failed, with pg_prove's counts", async () => {
    const db = await createTestDatabase({ empty: true });
    try {
      await adminQuery("create extension pgtap", [], db.name);
      const url = new URL(db.url);
      const run = spawnSync("pg_prove", ["-h", url.hostname, "-p", url.port, "-U", url.username, "-d", db.name, path.join(FIXTURES, "fails.sql")], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, PGPASSWORD: decodeURIComponent(url.password) },
      });
      expect(run.status).not.toBe(0);
      expect(pgTapDigest(run.stdout)).toEqual([`# failed: ${path.join(FIXTURES, "fails.sql")} (Wstat: 0 Tests: 2 Failed: 1)`]);
    } finally {
      await db.drop();
    }
  });
});

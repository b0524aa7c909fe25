import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runNode } from "../support/child.ts";

/**
 * `npm test` on a machine without the Debian packages it needs: one line naming the apt-get command, exit 1,
 * no stack trace. (Where it may install, as root with apt-get, it installs instead; NEXUS_TEST_INSTALL=no is
 * the machine that may not.)
 */
describe("npm test without its system packages", () => {
  it("names the apt-get command for pg_prove in one line and stops", async () => {
    // A PATH with node and nothing else: no pg_prove, no apt-get.
    const env = { PATH: path.dirname(process.execPath), NEXUS_TEST_INSTALL: "no" };
    const { code, output } = await runNode("scripts/test.ts", ["pgtap"], { env });
    expect(code).toBe(1);
    // pgTAP itself is named too on a machine that lacks it as well (a fresh one, before .ci/run installs it).
    const pgtap = existsSync("/usr/share/postgresql/15/extension/pgtap.control") ? [] : ["postgresql-15-pgtap"];
    const needs = [...(pgtap.length ? ["postgresql-15-pgtap (pgTAP, the database tests)"] : []), "libtap-parser-sourcehandler-pgtap-perl (pg_prove, which runs them)"];
    expect(output.trim().split("\n")).toEqual([
      `npm test needs ${needs.join(", ")}: run sudo apt-get install -y --no-install-recommends ${[...pgtap, "libtap-parser-sourcehandler-pgtap-perl"].join(" ")}`,
    ]);
  });

  it("names chromium when the browser test has no browser", async () => {
    const env = { PATH: process.env.PATH, CHROMIUM_PATH: "/nonexistent/chromium", NEXUS_TEST_INSTALL: "no" };
    const { code, output } = await runNode("scripts/test.ts", ["vitest"], { env });
    expect(code).toBe(1);
    expect(output).toMatch(/^npm test needs chromium \(the \/ops page's browser test\): run sudo apt-get install -y --no-install-recommends chromium\n$/);
  });
});

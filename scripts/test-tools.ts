/**
 * What `npm test` needs from the machine besides node_modules: Debian's PostgreSQL 15 server (the throwaway
 * database), pgTAP and pg_prove (the database tests), Chromium (the /ops page's browser test). Checked before
 * anything starts. Run as root where apt-get is available, the missing packages are installed (one line says
 * which and why); otherwise one line names the apt-get command to run. NEXUS_TEST_INSTALL=no never installs.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { findPostgresBinDir } from "../test/support/cluster.ts";

export type Suite = "pgtap" | "vitest" | "all";

interface Tool {
  package: string;
  why: string;
  suites: Suite[];
  present(): boolean;
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

/** The folder holding pgTAP's control and SQL files for the test server (PG_BINDIR or Debian's), if installed. */
export function pgtapDir(): string | undefined {
  const bin = findPostgresBinDir();
  if (!bin) return undefined;
  // /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15/extension
  const version = path.basename(path.dirname(bin));
  return [path.join("/usr/share/postgresql", version, "extension"), path.join(bin, "../share/extension")].find((dir) => existsSync(path.join(dir, "pgtap.control")));
}

function pgtapInstalled(): boolean {
  return pgtapDir() !== undefined;
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const TOOLS: Tool[] = [
  { package: "postgresql-15", why: "the throwaway PostgreSQL the tests run on", suites: ["pgtap", "vitest"], present: () => findPostgresBinDir() !== undefined },
  { package: "postgresql-15-pgtap", why: "pgTAP, the database tests", suites: ["pgtap"], present: pgtapInstalled },
  { package: "libtap-parser-sourcehandler-pgtap-perl", why: "pg_prove, which runs them", suites: ["pgtap"], present: () => onPath("pg_prove") !== undefined },
  { package: "chromium", why: "the /ops page's browser test", suites: ["vitest"], present: () => existsSync(CHROMIUM) },
];

export class MissingTools extends Error {}

function missing(suite: Suite): Tool[] {
  return TOOLS.filter((t) => (suite === "all" || t.suites.includes(suite)) && !t.present());
}

function apt(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync("apt-get", args, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error?.message ?? ""}` };
}

/** Make sure the suite can run; throws MissingTools with the one line to print when it cannot. */
export function ensureTestTools(suite: Suite, print: (line: string) => void): void {
  const needed = missing(suite);
  if (needed.length === 0) return;
  const packages = needed.map((t) => t.package);
  const command = `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  const canInstall = process.getuid?.() === 0 && onPath("apt-get") !== undefined && process.env.NEXUS_TEST_INSTALL !== "no";
  if (!canInstall) {
    throw new MissingTools(`npm test needs ${needed.map((t) => `${t.package} (${t.why})`).join(", ")}: run sudo ${command}`);
  }
  print(`# installing ${needed.map((t) => `${t.package} (${t.why})`).join(", ")}: ${command}`);
  let result = apt(["install", "-y", "-qq", "--no-upgrade", "--no-install-recommends", ...packages]);
  if (!result.ok) {
    // A fresh machine's package lists may be empty or stale.
    apt(["update", "-qq"]);
    result = apt(["install", "-y", "-qq", "--no-upgrade", "--no-install-recommends", ...packages]);
  }
  const still = missing(suite);
  if (!result.ok || still.length > 0) {
    const last = result.output.trim().split("\n").filter(Boolean).pop() ?? "";
    const hint = still.some((t) => t.package === "chromium") && process.env.CHROMIUM_PATH ? ` (CHROMIUM_PATH is ${CHROMIUM})` : "";
    throw new MissingTools(`${command} did not provide ${still.map((t) => t.package).join(", ") || packages.join(", ")}${hint}${last ? `: ${last}` : ""}`);
  }
}

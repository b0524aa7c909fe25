/**
 * `npm run bench`: every benchmark in bench/ (each bench/<name>.ts except this file), one after another, each in
 * its own process so one's load does not colour the next. Exits non-zero if any failed.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".ts") && name !== "run.ts")
  .filter((name) => only.length === 0 || only.some((o) => name.startsWith(o)))
  .sort();

let failed = 0;
for (const name of benches) {
  process.stdout.write(`# bench/${name}\n`);
  const result = spawnSync(process.execPath, [path.join(here, name)], { stdio: "inherit" });
  if (result.status !== 0) {
    failed++;
    process.stdout.write(`# bench/${name} failed (${result.status ?? result.signal})\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);

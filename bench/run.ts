/**
 * `npm run bench`: runs every bench/*.ts (except this file) one after another, each in its own process, and
 * passes any extra arguments on. `npm run bench -- voice-token` runs only the named ones.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".ts") && name !== "run.ts")
  .filter((name) => wanted.length === 0 || wanted.includes(name.replace(/\.ts$/, "")))
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n## ${name}`);
  const result = spawnSync(process.execPath, [path.join(here, name)], { stdio: "inherit" });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);

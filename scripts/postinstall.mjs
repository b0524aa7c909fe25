// After `npm install`: the dependency patches (scripts/dependency-patches.mjs), then one line saying which Node runs
// what. Plain JavaScript: it runs on whatever Node npm has.
import { fileURLToPath } from "node:url";
import { applyPatches } from "./dependency-patches.mjs";

const patches = applyPatches(fileURLToPath(new URL("..", import.meta.url)));
// A patch not applied leaves the dependency as it was released: correct, only slower. The install goes on.
for (const { ok, line } of patches) if (!ok) console.log(`nomadnexus: dependency patch ${line}`);
const applied = patches.filter((p) => p.ok).length;
const patched = applied ? ` ${applied} reviewed dependency patch${applied === 1 ? "" : "es"} in place (docs/upstream.md).` : "";

const npmNode = /\bnode\/(v[\d.]+)/.exec(process.env.npm_config_user_agent ?? "")?.[1] ?? "the system's Node";
const major = Number(process.version.slice(1).split(".")[0]);
if (major < 22) {
  console.log(`nomadnexus: npm scripts would run on Node ${process.version}, but they need 22 or later: the "node" dependency did not install (run npm install again)`);
  process.exitCode = 1;
} else {
  console.log(`nomadnexus: installed. npm ran on Node ${npmNode}; npm start, npm test and the other scripts run on Node ${process.version} from node_modules.${patched}`);
}

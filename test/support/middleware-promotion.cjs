// Child process for test/foundation/dependency-patches.test.ts, run with --trace-gc-nvp: graphile-config's
// Middleware as installed ("installed") or as released, the patch's text put back ("released"), running 32
// requests at a time through one middleware, each request's activity waiting a turn of the event loop as a
// GraphQL execution does. The test reads the scavenges' `promoted=` bytes from its stdout.
const Module = require("node:module");
const path = require("node:path");
const [root, variant] = process.argv.slice(2);
const file = path.resolve(root, "node_modules/graphile-config/dist/middleware.js");

async function load() {
  if (variant !== "released") return require(file).Middleware;
  const { pathToFileURL } = require("node:url");
  const { PATCHES } = await import(pathToFileURL(path.resolve(root, "scripts/dependency-patches.mjs")).href);
  const patch = PATCHES.find((p) => p.id === "graphile-config-make-next");
  const source = require("node:fs").readFileSync(file, "utf8").replace(patch.to, patch.from);
  const released = new Module(file, module);
  released.filename = file;
  released.paths = Module._nodeModulePaths(path.dirname(file));
  released._compile(source, file);
  return released.exports.Middleware;
}

let middleware;
let answered = 0;
async function request(i) {
  const event = { i, rows: new Array(50).fill(i) };
  const rows = await middleware.run("execute", event, async (e) => {
    await new Promise((resolve) => setImmediate(resolve));
    return e.rows.length;
  });
  answered += rows;
}
(async () => {
  middleware = new (await load())();
  middleware.register("execute", (next) => next());
  for (let round = 0; round < 10000; round++) {
    const inFlight = [];
    for (let k = 0; k < 32; k++) inFlight.push(request(k));
    await Promise.all(inFlight);
  }
  process.stdout.write(`answered ${answered}\n`);
})();

/**
 * `npm start`: the API server and the worker in one process (`--server` or `--worker` runs one of them, for
 * production where they scale separately). Without DATABASE_URL it runs on the embedded Postgres and migrates it.
 */
import "./core/env.ts";
import type { Runner } from "graphile-worker";
import { createServer, type NexusServer } from "./server/app.ts";
import { migrate } from "./core/database/migrate.ts";
import { assertSchemaCurrent } from "./core/database/schema.ts";
import { createPool, createWorkerPool, poolsShuttingDown, WORKER_ROLE } from "./core/database/pool.ts";
import { assertDatabaseReachable, configBeforeStart, resolveDatabase } from "./core/database/resolve.ts";
import { OneLineError } from "./core/fatal.ts";
import { assertPortFree, localBaseUrl } from "./core/net.ts";
import { createLogger, exitWhenDrained } from "./core/log.ts";
import { startWorker } from "./worker/runner.ts";

const log = createLogger();
const args = new Set(process.argv.slice(2));
const runServer = !args.has("--worker");
const runWorker = !args.has("--server");
/** The embedded Postgres this process started or adopted, stopped also when start-up fails after it. */
let stopDatabase = async () => {};

/**
 * Ctrl-C and SIGTERM, from the first line on. Once everything is up, a signal shuts it down at once. During start-up
 * (the embedded Postgres starting, migrations, the worker starting) the step in progress ends first and nothing
 * after it starts; what did start is stopped as after start-up, so no Postgres is left behind for the next start to
 * adopt. `shutDown` is main's, set once it has something to stop.
 */
let stopSignal: NodeJS.Signals | undefined;
let started = false;
let shutDown: (() => Promise<void>) | undefined;
let forced = false;
function onSignal(signal: NodeJS.Signals): void {
  if (stopSignal) {
    // A second signal while a start-up step hangs (Postgres starting, a migration waiting on a lock): the user
    // means it. The embedded Postgres, if this process has it by now, is stopped as well as it can be, then exit.
    if (!started && !forced) {
      forced = true;
      log.warn({ signal }, "second signal during start-up: stopping now");
      void stopDatabase()
        .catch(() => {})
        .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    }
    return;
  }
  stopSignal = signal;
  log.info({ signal, starting: started ? undefined : true }, started ? "shutting down" : "shutting down after the start-up step in progress");
  if (started) void shutDown?.();
}
process.on("SIGINT", () => onSignal("SIGINT"));
process.on("SIGTERM", () => onSignal("SIGTERM"));

async function main() {
  // Before anything starts (the embedded Postgres, migrations, a worker): a port another process holds.
  if (runServer) {
    const { port, host } = configBeforeStart();
    await assertPortFree(port, host);
  }
  const db = await resolveDatabase(log);
  stopDatabase = db.stop;
  const { config } = db;
  log.level = config.logLevel;
  let server: NexusServer | undefined;
  let worker: Runner | undefined;
  let pool: ReturnType<typeof createPool> | undefined;
  let workerPool: ReturnType<typeof createWorkerPool> | undefined;
  let stopping: Promise<void> | undefined;
  // Whatever is running at the time: the HTTP server and the worker side by side; the pools, then Postgres, once
  // nothing uses them.
  shutDown = () =>
    (stopping ??= (async () => {
      poolsShuttingDown();
      const t0 = Date.now();
      await Promise.all([
        server?.close().catch((error) => log.error({ err: error }, "server close failed")).then(() => log.debug({ ms: Date.now() - t0 }, "server closed")),
        worker?.stop().catch((error) => log.error({ err: error }, "worker stop failed")).then(() => log.debug({ ms: Date.now() - t0 }, "worker stopped")),
      ]);
      await pool?.end().catch(() => {});
      await workerPool?.end().catch(() => {});
      await db.stop().catch((error) => log.error({ err: error }, "embedded postgres stop failed"));
      log.info({ ms: Date.now() - t0 }, "stopped");
      exitWhenDrained(0);
    })());
  if (stopSignal) return shutDown();
  await assertDatabaseReachable(db.url);
  if (stopSignal) return shutDown();
  if (db.embedded || !config.isProduction) {
    // As the schema owner (DATABASE_OWNER_URL): the server and worker log in as nexus_authenticator, who owns nothing.
    await migrate(db.ownerUrl);
    log.info("database migrated");
    if (stopSignal) return shutDown();
  }
  // The rules live in SQL: a database whose migrations are not this release's (one behind, or a newer release's)
  // would enforce rules this code was not written for. Refused in one line (core/database/schema.ts).
  await assertSchemaCurrent(db.url);
  if (stopSignal) return shutDown();
  // What members would otherwise find out only from a 503: a production process without LiveKit or Web Push.
  if (config.isProduction) {
    const unset = (names: Record<string, string | undefined>) => Object.keys(names).filter((name) => !names[name]);
    const { url, apiKey, apiSecret } = config.livekit;
    const livekit = unset({ LIVEKIT_URL: url, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret });
    if (livekit.length > 0) {
      log.warn({ unset: livekit }, "LiveKit is not configured: voice tokens and LiveKit's webhooks answer 503 LIVEKIT_NOT_CONFIGURED");
    }
    const push = unset({ NEXT_PUBLIC_VAPID_PUBLIC_KEY: config.vapid.publicKey, VAPID_PRIVATE_KEY: config.vapid.privateKey });
    if (push.length > 0) {
      log.warn({ unset: push }, "Web Push is not configured: push registration answers 503 PUSH_NOT_CONFIGURED and no flare reaches a phone");
    }
  }
  if (runServer && config.jwt.previousSecret) {
    log.warn(
      "JWT_PREVIOUS_SECRET is set: tokens signed with it are still accepted. Unset it once the frontend has the new " +
        "anon key and JWT_TTL has passed, when nexus_jwt_previous_secret_accepted_total on /metrics stops growing (docs/operations.md#rotating-secrets)",
    );
  }
  if (config.isProduction && runServer && !config.metricsToken) {
    log.warn("METRICS_TOKEN is not set: GET /metrics answers anyone who can reach this server");
  }
  if (runServer && config.trustProxy === true) {
    log.warn(
      "TRUST_PROXY=true believes every X-Forwarded-For entry, and the leftmost is whatever the client wrote unless " +
        "your proxy replaces the header: the sign-in and sign-up limits per address then take the client's word. " +
        "Prefer the number of proxies in front (TRUST_PROXY=1) or their addresses (docs/ACCOUNTS.md)",
    );
  }
  pool = runServer ? createPool(db.url, log, config.databasePoolSize) : undefined;
  workerPool = runWorker ? createWorkerPool(db.url, log, config.workerConcurrency) : undefined;
  // The worker starts first so the banner below means everything is up.
  if (workerPool) {
    await assertWorkerRole(workerPool);
    worker = await startWorker({ config, pool: workerPool, log });
  }
  if (stopSignal) return shutDown();
  if (pool) {
    server = await createServer({ config, pool, log });
    await new Promise<void>((resolve) => server!.server.listen(config.port, config.host, resolve));
    if (stopSignal) return shutDown();
    const base = localBaseUrl(config.host, config.port, "localhost");
    log.info({ port: config.port, host: config.host ?? "(every address)" }, "server listening");
    process.stdout.write(
      [
        "",
        `  NomadNexus backend is up${db.embedded ? ` (embedded Postgres in ${config.dataDir})` : ""}`,
        `  GraphQL:   ${base}/graphql`,
        ...(config.graphiql ? [`  GraphiQL:  ${base}/graphiql`] : []),
        `  REST:      ${base}/functions/v1/<name>  (the old edge functions' routes)`,
        `  Ops page:  ${base}/ops  (job queue and open flares, for FOUNDER+)`,
        `  Webhook:   ${base}/livekit/webhook`,
        `  Health:    ${base}/healthz  ${base}/readyz`,
        `  SQL:       npm run nexus -- db psql`,
        "",
      ].join("\n") + "\n",
    );
  }
}

/**
 * The worker's connections switch to nexus_worker through a startup option. A pooler that drops that option (some
 * do, silently) would leave them as the login: refused at once when that is nexus_authenticator (no grant on the
 * queue), but with a login that may do anything, jobs would run with every right. Fail closed: the worker starts
 * only as nexus_worker.
 */
async function assertWorkerRole(pool: ReturnType<typeof createWorkerPool>): Promise<void> {
  const { rows } = await pool.query<{ role: string }>("select current_user as role");
  const role = rows[0]?.role;
  if (role !== WORKER_ROLE) {
    throw new OneLineError(
      `the worker's database connections run as ${role}, not ${WORKER_ROLE}: connect the worker to Postgres directly ` +
        `(something between them dropped the startup option that switches the role; docs/scaling.md)`,
    );
  }
}

main()
  .then(() => {
    started = true;
  })
  .catch(async (error) => {
    // A step that failed because of the signal itself (Ctrl-C reaches dbmate and initdb too): the shutdown asked for.
    if (stopSignal) {
      log.debug({ err: error }, "a start-up step ended with the signal");
      if (shutDown) return shutDown();
      await stopDatabase().catch(() => {});
      log.info("stopped");
      return exitWhenDrained(0);
    }
    if (error instanceof OneLineError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      log.fatal({ err: error }, "start-up failed");
    }
    await stopDatabase().catch(() => {});
    exitWhenDrained(1);
  });

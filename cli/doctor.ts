/**
 * `npm run doctor`: the runbook's Phase 9 checklist as a command. It reads the same environment as the server
 * (DATABASE_URL, the secrets), talks to the database and to the running server at NEXUS_URL (default
 * http://$HOST:$PORT, 127.0.0.1 when HOST is unset or every address), and prints one PASS or FAIL line per check:
 *
 *   environment   the configuration loads as the server loads it (core/config validates it), and what a
 *                 deployment needs beyond that: LiveKit and Web Push configured, keys well formed, TLS, origins,
 *                 and the dependency patches npm install applies (docs/upstream.md)
 *   credentials   LiveKit key/secret sign a token that verifies; the VAPID public key is the private key's
 *   database      every table (row level security on), every migration (the runbook's four by name), every
 *                 function of db/functions, the job queue schema, a worker's heartbeat
 *   server        health, readiness, the seven runbook routes, the JWT secret, the VAPID public key it serves, the
 *                 webhook shim (an unsigned call is 401, a signed one 200), CORS for each allowed origin and none
 *                 for others, /metrics
 *
 * Exit code 0 when every check passes, 1 otherwise. Nothing is written to the database or the queue.
 * Without DATABASE_URL it uses the embedded database and the development secrets in NEXUS_DATA_DIR, like `npm start`.
 */
import "../core/env.ts";
import { createECDH, createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { AccessToken, TokenVerifier } from "livekit-server-sdk";
import pg from "pg";
import { signJwt } from "../core/jwt.ts";
import { ConfigError, DEFAULTS, loadConfig, type Config } from "../core/config.ts";
import { ROOT } from "../core/database/migrate.ts";
import { appliedMigrations, migrationFiles } from "../core/database/schema.ts";
import { resolveDatabaseForCommand } from "../core/database/resolve.ts";
import { commandClient, endCommand, handleCommandExits } from "../core/command.ts";
import { localBaseUrl } from "../core/net.ts";
import { createLogger } from "../core/log.ts";
// @ts-expect-error plain JavaScript module (it runs at npm install, on whatever Node npm has)
import { PATCHES, patchState } from "../scripts/dependency-patches.mjs";

/** The runbook's 2.3 list, then the rest of DESIGN.md §2. */
export const TABLES = [
  "voice_nets",
  "voice_net_bridges",
  "voice_presence",
  "push_subscriptions",
  "notification_queue",
  "profiles",
  "squads",
  "squad_members",
  "rescue_flares",
  "skills",
  "mentor_certifications",
  "academy_requests",
  "sim_pods",
];
/** The runbook's four migrations (2.2), by name; dbmate adds a version prefix. */
export const RUNBOOK_MIGRATIONS = ["voice_nets_rbac", "voice_net_bridges", "voice_presence", "notification_queue"];
/** The runbook's seven edge functions (3.1), each a route here. */
export const RUNBOOK_ROUTES = [
  "livekit-token",
  "academy-request",
  "academy-accept",
  "notifications-subscribe",
  "handle-rescue-request",
  "livekit-webhook",
  "net-bridge",
];
const WEBHOOK_PATHS = ["/livekit/webhook", "/functions/v1/livekit-webhook"];
const METRICS = ["nexus_http_request_duration_seconds", "nexus_job_queue_depth", "nexus_job_dead_letters", "nexus_presence_stale", "nexus_notifications_pending"];

type Outcome = { ok: boolean; detail: string };
interface Line extends Outcome {
  section: string;
  name: string;
}

const pass = (detail: string): Outcome => ({ ok: true, detail });
const fail = (detail: string): Outcome => ({ ok: false, detail });

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}

/* ---------------------------------------------------------------- environment */

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The server's own validation first (core/config: formats, numbers, what production requires), as one line;
 * then what a deployment needs beyond what the server insists on: LiveKit and Web Push configured at all,
 * their keys well formed, TLS, a contact for push services, the frontend's origins. Defaults are config's.
 */
export function environmentChecks(env: Env, generated: ReadonlySet<string>): { config: Config | undefined; checks: Array<[string, Outcome]> } {
  const checks: Array<[string, Outcome]> = [];
  const check = (name: string, outcome: Outcome) => checks.push([name, outcome]);
  const note = (name: string) => (generated.has(name) ? " (generated in NEXUS_DATA_DIR for development)" : "");

  let config: Config | undefined;
  try {
    config = loadConfig(env as NodeJS.ProcessEnv);
    check("configuration", pass(`loads as the server loads it (NODE_ENV=${config.env}, PORT=${config.port})`));
  } catch (error) {
    check("configuration", fail(error instanceof ConfigError ? error.message : String(error)));
  }
  const production = config ? config.isProduction : value(env, "NODE_ENV") === "production";

  if (config) {
    check("DATABASE_URL", pass(config.databaseUrl ? redactUrl(config.databaseUrl) : `not set: the embedded database in ${config.dataDir}`));
    check("JWT_SECRET", pass(`set, ${config.jwt.secret.length} characters${note("JWT_SECRET")}`));
  }

  // A malformed LIVEKIT_URL is config's to refuse (the configuration line); here only what it lets through.
  const lkUrl = config?.livekit.url;
  if (!config) {
    // nothing to add: the configuration line names what is wrong
  } else if (!lkUrl) check("LIVEKIT_URL", fail("missing: the LiveKit server clients connect to (wss://…)"));
  else if (production && /^(ws|http):\/\//.test(lkUrl) && !/\/\/(localhost|127\.0\.0\.1)[:/]?/.test(lkUrl)) check("LIVEKIT_URL", fail(`${lkUrl} is not TLS: browsers on an https page need wss://`));
  else check("LIVEKIT_URL", pass(lkUrl));

  const lkKey = value(env, "LIVEKIT_API_KEY");
  check("LIVEKIT_API_KEY", lkKey ? pass(`set${note("LIVEKIT_API_KEY")}`) : fail("missing: the LiveKit API key (runbook: \"LIVEKIT_API_KEY not set\")"));
  const lkSecret = value(env, "LIVEKIT_API_SECRET");
  if (!lkSecret) check("LIVEKIT_API_SECRET", fail("missing: the LiveKit API secret of LIVEKIT_API_KEY"));
  else check("LIVEKIT_API_SECRET", lkSecret.length >= 32 ? pass(`set, ${lkSecret.length} characters${note("LIVEKIT_API_SECRET")}`) : fail(`LiveKit refuses secrets under 32 characters; this one has ${lkSecret.length}`));

  const whSecret = value(env, "LIVEKIT_WEBHOOK_SECRET");
  if (!whSecret) check("LIVEKIT_WEBHOOK_SECRET", pass("not set: webhooks are verified with LIVEKIT_API_SECRET"));
  else if (lkSecret && whSecret !== lkSecret) {
    check("LIVEKIT_WEBHOOK_SECRET", fail("differs from LIVEKIT_API_SECRET: LiveKit signs webhooks with the API secret of the key it names (LIVEKIT_API_KEY), so every delivery would be rejected; unset it or make them equal"));
  } else check("LIVEKIT_WEBHOOK_SECRET", pass("set, equal to LIVEKIT_API_SECRET"));

  const vapidPublic = value(env, "NEXT_PUBLIC_VAPID_PUBLIC_KEY");
  const vapidPrivate = value(env, "VAPID_PRIVATE_KEY");
  if (!vapidPublic) check("NEXT_PUBLIC_VAPID_PUBLIC_KEY", fail("missing: the Web Push public key (npm run vapid:generate)"));
  else {
    const bytes = B64URL.test(vapidPublic) ? Buffer.from(vapidPublic, "base64url") : Buffer.alloc(0);
    check("NEXT_PUBLIC_VAPID_PUBLIC_KEY", bytes.length === 65 && bytes[0] === 4 ? pass(`a P-256 public key${note("NEXT_PUBLIC_VAPID_PUBLIC_KEY")}`) : fail("must be an uncompressed P-256 public key in base64url (65 bytes, 87 characters)"));
  }
  if (!vapidPrivate) check("VAPID_PRIVATE_KEY", fail("missing: the Web Push private key (npm run vapid:generate)"));
  else {
    const bytes = B64URL.test(vapidPrivate) ? Buffer.from(vapidPrivate, "base64url") : Buffer.alloc(0);
    check("VAPID_PRIVATE_KEY", bytes.length === 32 ? pass(`a P-256 private key${note("VAPID_PRIVATE_KEY")}`) : fail("must be a P-256 private key in base64url (32 bytes, 43 characters)"));
  }
  const subject = value(env, "VAPID_SUBJECT");
  if (subject) check("VAPID_SUBJECT", pass(subject));
  else check("VAPID_SUBJECT", production ? fail("missing: a mailto: or https:// contact push services may use (e.g. mailto:admin@nomadnexus.com)") : pass("not set: a development placeholder"));

  const cors = value(env, "CORS_ORIGINS");
  if (!cors) check("CORS_ORIGINS", production ? fail("missing: the frontend's origins (runbook 5.1), e.g. https://yourdomain.com,https://www.yourdomain.com") : pass(`not set: only ${DEFAULTS.DEV_CORS_ORIGIN} (development)`));
  else {
    const bad = cors.split(",").map((o) => o.trim()).filter((o) => {
      try {
        const u = new URL(o);
        return !/^https?:$/.test(u.protocol) || u.origin !== o;
      } catch {
        return true;
      }
    });
    check("CORS_ORIGINS", bad.length === 0 ? pass(cors) : fail(`not origins (scheme://host[:port], no path or trailing slash): ${bad.join(", ")}`));
  }
  return { config, checks };
}

/* ---------------------------------------------------------------- credentials */

/** The reviewed dependency patches npm install applies (docs/upstream.md): without them, correct but slower. */
export function dependencyPatchesCheck(root = ROOT): Outcome {
  const states = (PATCHES as { id: string; package: string; version: string }[]).map((patch) => ({ patch, ...(patchState(root, patch) as { state: string; version?: string }) }));
  const missing = states.filter((s) => s.state !== "applied");
  if (missing.length === 0) return pass(`${states.map((s) => s.patch.id).join(", ")} in place`);
  return fail(
    missing.map((s) => `${s.patch.id} not applied (${s.patch.package} ${s.version ?? "not installed"}, ${s.state}; reviewed for ${s.patch.version})`).join("; ") +
      ": run npm install without --ignore-scripts, or re-check the patch against this release (docs/upstream.md)",
  );
}

async function liveKitCheck(env: Env): Promise<Outcome> {
  const key = value(env, "LIVEKIT_API_KEY");
  const secret = value(env, "LIVEKIT_API_SECRET");
  if (!key || !secret) return fail("needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET");
  try {
    const token = new AccessToken(key, secret, { identity: "nexus-doctor", ttl: 60 });
    token.addGrant({ room: "nexus-doctor", roomJoin: true });
    const jwt = await token.toJwt();
    const claims = await new TokenVerifier(key, secret).verify(jwt);
    if (claims.video?.room !== "nexus-doctor" || claims.sub !== "nexus-doctor") return fail("the verified token lost its grant");
    return pass("a token signed with the key and secret verifies (AccessToken, TokenVerifier)");
  } catch (error) {
    return fail(`signing or verifying failed: ${(error as Error).message}`);
  }
}

function vapidCheck(env: Env): Outcome {
  const publicKey = value(env, "NEXT_PUBLIC_VAPID_PUBLIC_KEY");
  const privateKey = value(env, "VAPID_PRIVATE_KEY");
  if (!publicKey || !privateKey) return fail("needs NEXT_PUBLIC_VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY");
  try {
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(Buffer.from(privateKey, "base64url"));
    const derived = ecdh.getPublicKey().toString("base64url");
    return derived === publicKey
      ? pass("the public key is the one VAPID_PRIVATE_KEY derives")
      : fail("NEXT_PUBLIC_VAPID_PUBLIC_KEY is not VAPID_PRIVATE_KEY's public key: browsers would subscribe with a key the server cannot sign for");
  } catch (error) {
    return fail(`VAPID_PRIVATE_KEY is not a P-256 private key: ${(error as Error).message}`);
  }
}

/* ---------------------------------------------------------------- database */

async function sqlFunctionNames(): Promise<Map<string, string[]>> {
  const dir = path.join(ROOT, "db/functions");
  const byFile = new Map<string, string[]>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort()) {
    const text = await readFile(path.join(dir, file), "utf8");
    const names = [...text.matchAll(/create\s+or\s+replace\s+function\s+([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\(/gi)].map((m) => `${m[1]}.${m[2]}`.toLowerCase());
    byFile.set(file, [...new Set(names)]);
  }
  return byFile;
}

/** SQLSTATEs the database checks tell apart: not there (never migrated) and not this login's to read. */
const UNDEFINED_TABLE = "42P01";
const INVALID_SCHEMA_NAME = "3F000";
const INSUFFICIENT_PRIVILEGE = "42501";

/** A query's result, or the error it failed with (for the checks that tell a missing table from an unreadable one). */
const attempt = <T>(query: Promise<T>): Promise<T | { error: unknown }> => query.catch((error: unknown) => ({ error }));

async function databaseChecks(url: string, deadAfter: number, add: (name: string, outcome: Outcome) => void): Promise<void> {
  const client = commandClient({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    add("connect", fail(`cannot connect to ${redactUrl(url)}: ${(error as Error).message}`));
    return;
  }
  try {
    const version = await client.query<{ v: string; login: string }>("select current_setting('server_version') as v, current_user as login");
    const login = version.rows[0]!.login;
    add("connect", pass(`${redactUrl(url)} (PostgreSQL ${version.rows[0]!.v}, as ${login})`));
    /** Why `what` could not be read, by SQLSTATE: not there (`missing`), not this login's to read, or the error itself. */
    const unreadable = (error: unknown, what: string, missing: string): Outcome => {
      const code = (error as { code?: string }).code;
      if (code === UNDEFINED_TABLE || code === INVALID_SCHEMA_NAME) return fail(missing);
      if (code === INSUFFICIENT_PRIVILEGE) return fail(`${login} may not read ${what}: run the doctor with the database owner's URL as DATABASE_URL for the database checks`);
      return fail(`cannot read ${what}: ${(error as Error).message}${code ? ` (SQLSTATE ${code})` : ""}`);
    };

    const { rows: tables } = await client.query<{ name: string; rls: boolean }>(
      `select c.relname as name, c.relrowsecurity as rls from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p')`,
    );
    const found = new Map(tables.map((t) => [t.name, t.rls]));
    for (const table of TABLES) {
      const rls = found.get(table);
      add(`table ${table}`, rls === undefined ? fail("missing: run the migrations (npm run db:migrate)") : rls ? pass("exists, row level security on") : fail("exists, but row level security is OFF"));
    }
    const others = tables.filter((t) => !TABLES.includes(t.name));
    const open = others.filter((t) => !t.rls).map((t) => t.name);
    add("other public tables", open.length === 0 ? pass(`${others.length} more, each with row level security on`) : fail(`row level security is OFF on ${open.join(", ")}`));

    const files = await migrationFiles();
    // Through nexus_private.applied_migrations() (readable by nexus_authenticator), else the ledger itself.
    const ledger = await attempt(appliedMigrations(client));
    if ("error" in ledger) {
      add("migrations", unreadable(ledger.error, "dbmate.schema_migrations", "no dbmate.schema_migrations: this database was never migrated (npm run db:migrate)"));
    } else {
      const applied = new Set(ledger);
      for (const name of RUNBOOK_MIGRATIONS) {
        const file = files.find((f) => f.replace(/^\d+_/, "").replace(/\.sql$/, "") === name);
        const version = file?.split("_")[0];
        add(`migration ${name}`, !file ? fail("not in db/migrations") : applied.has(version!) ? pass(`applied (${file})`) : fail(`pending: ${file} (npm run db:migrate)`));
      }
      const versions = new Set(files.map((f) => f.split("_")[0]!));
      const pending = files.filter((f) => !applied.has(f.split("_")[0]!));
      const unknown = [...applied].filter((v) => !versions.has(v)).sort();
      if (pending.length > 0) add("migrations", fail(`${pending.length} pending: ${pending.join(", ")} (npm run db:migrate)`));
      else if (unknown.length > 0) add("migrations", fail(`applied in the database but not in this release's db/migrations: ${unknown.join(", ")} (roll back with npm run db:rollback, or deploy the newer release)`));
      else add("migrations", pass(`all ${files.length} in db/migrations applied, none unknown`));
    }

    const { rows: procs } = await client.query<{ name: string }>(
      `select n.nspname || '.' || p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'auth', 'nexus_private')`,
    );
    const present = new Set(procs.map((p) => p.name));
    for (const [file, names] of await sqlFunctionNames()) {
      const missing = names.filter((n) => !present.has(n));
      add(`functions ${file}`, missing.length === 0 ? pass(`${names.length} present`) : fail(`missing ${missing.join(", ")}: re-run npm run db:migrate (it re-applies db/functions)`));
    }

    const queue = await attempt(client.query("select 1 from graphile_worker.jobs limit 0"));
    add("job queue", !("error" in queue) ? pass("graphile_worker schema installed") : unreadable(queue.error, "graphile_worker.jobs", "graphile_worker schema missing: run the migrations"));

    const beats = await attempt(
      client.query<{ n: number }>("select count(distinct runner_id)::int as n from nexus_private.worker_heartbeats where last_seen > now() - make_interval(secs => $1)", [deadAfter]),
    );
    add(
      "worker",
      "error" in beats
        ? unreadable(beats.error, "nexus_private.worker_heartbeats", "no nexus_private.worker_heartbeats: run the migrations")
        : beats.rows[0]!.n > 0
          ? pass(`${beats.rows[0]!.n} worker process(es) alive (heartbeat within ${deadAfter} s)`)
          : fail(`no worker has reported in ${deadAfter} s: start one (npm run start:worker); webhooks and pushes wait in the queue until then`),
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/* ---------------------------------------------------------------- server */

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string } | Error> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (error) {
    return error as Error;
  }
}

function errorCode(text: string): string | undefined {
  try {
    return JSON.parse(text).error;
  } catch {
    return undefined;
  }
}

async function serverChecks(base: string, env: Env, add: (name: string, outcome: Outcome) => void): Promise<void> {
  const health = await request(`${base}/healthz`);
  if (health instanceof Error) {
    add("GET /healthz", fail(`${base} does not answer (${health.message}): is the server running? set NEXUS_URL`));
    return;
  }
  add("GET /healthz", health.status === 200 ? pass("200") : fail(`answered ${health.status}`));
  const ready = await request(`${base}/readyz`);
  add("GET /readyz", ready instanceof Error ? fail(ready.message) : ready.status === 200 ? pass("200: the server reaches its database") : fail(`answered ${ready.status}: ${ready.text.slice(0, 200)}`));

  for (const name of RUNBOOK_ROUTES.filter((r) => r !== "livekit-webhook")) {
    const res = await request(`${base}/functions/v1/${name}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    if (res instanceof Error) add(`route ${name}`, fail(res.message));
    else if (res.status === 401 && errorCode(res.text) === "UNAUTHENTICATED") add(`route ${name}`, pass("deployed: asks for a JWT (401 without one)"));
    else if (res.status === 404) add(`route ${name}`, fail("not deployed: 404 NOT_FOUND"));
    else add(`route ${name}`, fail(`answered ${res.status} ${res.text.slice(0, 120)} instead of 401`));
  }

  const jwtSecret = value(env, "JWT_SECRET");
  if (jwtSecret) {
    const token = await signJwt(jwtSecret, { role: "anon" }, 60);
    const res = await request(`${base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    add(
      "JWT_SECRET on the server",
      res instanceof Error ? fail(res.message) : res.status === 200 ? pass("a JWT signed with this JWT_SECRET is accepted") : res.status === 401 ? fail("the server rejects JWTs signed with this JWT_SECRET: the two differ") : fail(`answered ${res.status}`),
    );
  } else add("JWT_SECRET on the server", fail("JWT_SECRET is not set here, so it cannot be compared"));

  // Browsers subscribe with the key the server serves; the worker signs with its own environment's pair. A push
  // service refuses (403) every push to a device subscribed with another key, so the two must be one pair.
  const vapidPublic = value(env, "NEXT_PUBLIC_VAPID_PUBLIC_KEY");
  const served = await request(`${base}/push/vapid-public-key`);
  let servedKey: unknown;
  if (!(served instanceof Error) && served.status === 200) {
    try {
      servedKey = JSON.parse(served.text).publicKey;
    } catch {}
  }
  add(
    "VAPID key on the server",
    served instanceof Error
      ? fail(served.message)
      : served.status === 503
        ? fail("the server has no VAPID pair (503 PUSH_NOT_CONFIGURED): browsers cannot subscribe")
        : typeof servedKey !== "string"
          ? fail(`GET /push/vapid-public-key answered ${served.status} ${served.text.slice(0, 120)}`)
          : !vapidPublic
            ? fail(`NEXT_PUBLIC_VAPID_PUBLIC_KEY is not set here, so the server's (${servedKey.slice(0, 12)}…) cannot be compared`)
            : servedKey === vapidPublic
              ? pass("GET /push/vapid-public-key serves this NEXT_PUBLIC_VAPID_PUBLIC_KEY (browsers subscribe with it)")
              : fail(
                  `the server serves ${servedKey.slice(0, 12)}…, not this NEXT_PUBLIC_VAPID_PUBLIC_KEY (${vapidPublic.slice(0, 12)}…): ` +
                    "a worker with this environment would sign pushes the push services refuse (403) for devices subscribed with the server's key",
                ),
  );

  for (const webhook of WEBHOOK_PATHS) {
    const res = await request(`${base}${webhook}`, {
      method: "POST",
      headers: { "content-type": "application/webhook+json", authorization: "YOUR_HMAC_SIGNATURE" },
      body: JSON.stringify({ event: "participant_joined", room: "test-room", participant: { identity: "doctor", sid: "PA_doctor" } }),
    });
    add(
      `webhook ${webhook}`,
      res instanceof Error ? fail(res.message) : res.status === 401 ? pass("reachable; an unsigned call is rejected with 401") : fail(`an unsigned call answered ${res.status}, not 401: ${res.text.slice(0, 120)}`),
    );
  }
  const key = value(env, "LIVEKIT_API_KEY");
  const secret = value(env, "LIVEKIT_WEBHOOK_SECRET") ?? value(env, "LIVEKIT_API_SECRET");
  if (key && secret) {
    // An event the shim acknowledges without queueing anything, signed the way LiveKit signs.
    const body = JSON.stringify({ event: "room_started", id: `EV_doctor_${randomUUID()}`, createdAt: String(Math.floor(Date.now() / 1000)), room: { name: "nexus-doctor", sid: "RM_doctor" } });
    const token = new AccessToken(key, secret, { ttl: "5m" });
    token.sha256 = createHash("sha256").update(body).digest("base64");
    const res = await request(`${base}/livekit/webhook`, { method: "POST", headers: { "content-type": "application/webhook+json", authorization: await token.toJwt() }, body });
    add(
      "webhook signature",
      res instanceof Error ? fail(res.message) : res.status === 200 ? pass("a call signed as LiveKit signs, with this LIVEKIT_API_KEY and secret, is accepted") : res.status === 401 ? fail("the server rejects webhooks signed with this LIVEKIT_API_KEY/secret: its LiveKit settings differ from these") : fail(`answered ${res.status}: ${res.text.slice(0, 120)}`),
    );
  } else add("webhook signature", fail("needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET to sign a test call"));

  const origins = (value(env, "CORS_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    const res = await request(`${base}/functions/v1/livekit-token`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    add(
      `CORS ${origin}`,
      res instanceof Error ? fail(res.message) : res.headers.get("access-control-allow-origin") === origin ? pass("preflight answered for this origin") : fail("the server does not allow this origin: its CORS_ORIGINS differ"),
    );
  }
  const foreign = await request(`${base}/functions/v1/livekit-token`, { method: "OPTIONS", headers: { origin: "https://nexus-doctor.invalid", "access-control-request-method": "POST" } });
  add(
    "CORS other origins",
    foreign instanceof Error ? fail(foreign.message) : foreign.headers.get("access-control-allow-origin") === null ? pass("an origin not listed gets no CORS headers") : fail("an origin not listed was allowed"),
  );

  const metricsToken = value(env, "METRICS_TOKEN");
  const metrics = await request(`${base}/metrics`, metricsToken ? { headers: { authorization: `Bearer ${metricsToken}` } } : {});
  if (metrics instanceof Error) add("GET /metrics", fail(metrics.message));
  else {
    const missing = METRICS.filter((m) => !metrics.text.includes(`# TYPE ${m} `));
    add("GET /metrics", metrics.status === 200 && missing.length === 0 ? pass(`200 with ${METRICS.join(", ")}`) : fail(`status ${metrics.status}${missing.length ? `, missing ${missing.join(", ")}` : ""}`));
  }
}

/* ---------------------------------------------------------------- main */

export async function runDoctor(env: Env, print: (line: string) => void): Promise<Line[]> {
  const lines: Line[] = [];
  let section = "";
  const heading = (title: string) => {
    section = title;
    print(`\n${title}`);
  };
  const add = (name: string, outcome: Outcome) => {
    lines.push({ section, name, ...outcome });
    print(`  ${outcome.ok ? "PASS" : "FAIL"}  ${name.padEnd(36)} ${outcome.detail}`);
  };

  // Without DATABASE_URL: the embedded database and the secrets `npm start` generated, like the server does.
  let effective: Env = { ...env };
  let databaseUrl = value(env, "DATABASE_URL");
  let stopEmbedded = async () => {};
  const generated = new Set<string>();
  if (!databaseUrl && value(env, "NODE_ENV") !== "production") {
    try {
      const db = await resolveDatabaseForCommand(createLogger("silent"), env as NodeJS.ProcessEnv);
      databaseUrl = db.url;
      stopEmbedded = db.stop;
      for (const name of ["JWT_SECRET", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "NEXT_PUBLIC_VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"]) {
        if (!value(env, name)) generated.add(name);
      }
      const cfg = db.config;
      effective = {
        ...env,
        JWT_SECRET: value(env, "JWT_SECRET") ?? cfg.jwt.secret,
        LIVEKIT_URL: value(env, "LIVEKIT_URL") ?? cfg.livekit.url,
        LIVEKIT_API_KEY: value(env, "LIVEKIT_API_KEY") ?? cfg.livekit.apiKey,
        LIVEKIT_API_SECRET: value(env, "LIVEKIT_API_SECRET") ?? cfg.livekit.apiSecret,
        NEXT_PUBLIC_VAPID_PUBLIC_KEY: value(env, "NEXT_PUBLIC_VAPID_PUBLIC_KEY") ?? cfg.vapid.publicKey,
        VAPID_PRIVATE_KEY: value(env, "VAPID_PRIVATE_KEY") ?? cfg.vapid.privateKey,
      };
    } catch (error) {
      print(`(the embedded database could not be started: ${(error as Error).message})`);
    }
  }
  const environment = environmentChecks(effective, generated);
  const port = environment.config?.port ?? DEFAULTS.PORT;
  const base = (value(env, "NEXUS_URL") ?? localBaseUrl(environment.config?.host, port, "127.0.0.1")).replace(/\/+$/, "");
  print(`NomadNexus doctor: server ${base}, database ${databaseUrl ? redactUrl(databaseUrl) : "(none)"}`);

  try {
    heading("Environment (runbook 1.1)");
    for (const [name, outcome] of environment.checks) add(name, outcome);

    add("dependency patches", dependencyPatchesCheck());

    heading("Credentials");
    add("LiveKit key and secret", await liveKitCheck(effective));
    add("VAPID pair", vapidCheck(effective));

    heading("Database (runbook 2.2, 2.3)");
    const deadAfter = environment.config?.workerDeadAfterSeconds ?? DEFAULTS.WORKER_DEAD_AFTER_SECONDS;
    if (databaseUrl) await databaseChecks(databaseUrl, deadAfter, add);
    else add("connect", fail("DATABASE_URL is not set"));

    heading("Server (runbook 3.2, 4, 5, 7)");
    await serverChecks(base, effective, add);
  } finally {
    await stopEmbedded().catch(() => {});
  }

  const failed = lines.filter((l) => !l.ok);
  print(`\ndoctor: ${lines.length} checks, ${lines.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length > 0) print(`failed: ${failed.map((l) => l.name).join("; ")}`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Ctrl-C, or a reader that closed the pipe (`| head`), stops the embedded Postgres and exits without a trace.
  handleCommandExits();
  try {
    const lines = await runDoctor(process.env, (line) => process.stdout.write(`${line}\n`));
    await endCommand(lines.every((l) => l.ok) ? 0 : 1);
  } catch (error) {
    process.stderr.write(`doctor: ${(error as Error).message}\n`);
    await endCommand(1);
  }
}

/**
 * Configuration from the environment, validated once at start-up. A missing or malformed variable stops the
 * process with one line naming it (ConfigError), never a stack trace deep inside a request.
 */
import { isIP, isIPv6 } from "node:net";
import { z } from "zod";
import { OneLineError } from "./fatal.ts";

export class ConfigError extends OneLineError {}

/** Every default, written once: the schema below applies them, and whatever reports them (npm run doctor) reads them here. */
export const DEFAULTS = {
  NODE_ENV: "development",
  PORT: 4000,
  JWT_TTL: 3600,
  AUTH_MAX_FAILED_LOGINS: 10,
  AUTH_MAX_FAILED_LOGINS_PER_ADDRESS: 50,
  AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT: 100,
  AUTH_SIGNUPS_PER_HOUR: 30,
  AUTH_MAX_LOGINS_PER_ADDRESS: 30,
  AUTH_PASSWORD_CHANGES_PER_HOUR: 10,
  TRUST_PROXY: false,
  ALLOW_SERVICE_ROLE_TOKENS: false,
  AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT: false,
  LIVEKIT_TOKEN_TTL: 600,
  LIVEKIT_TIMEOUT_MS: 5000,
  FLARE_MAX_PER_HOUR: 6,
  LIVEKIT_TOKENS_PER_MINUTE: 30,
  LIVEKIT_TOKEN_BURST: 20,
  PUSH_REGISTRATIONS_PER_HOUR: 60,
  PUSH_REGISTRATION_BURST: 20,
  RANK_CHANGES_PER_HOUR: 600,
  RANK_CHANGE_BURST: 60,
  PUSH_BATCH_SIZE: 100,
  PUSH_FANOUT_PAGE_SIZE: 500,
  PUSH_TIMEOUT_MS: 10_000,
  PUSH_CONCURRENCY: 10,
  PRESENCE_MAX_OPEN_HOURS: 12,
  NEXUS_DATA_DIR: ".nexus-data",
  LOG_LEVEL: "info",
  WORKER_CONCURRENCY: 10,
  WORKER_DEAD_AFTER_SECONDS: 60,
  STATEMENT_TIMEOUT_MS: 5000,
  DATABASE_POOL_SIZE: 10,
  SHUTDOWN_TIMEOUT_MS: 8000,
  REQUEST_TIMEOUT_MS: 30_000,
  SUBSCRIPTIONS_PER_SOCKET: 25,
  SUBSCRIPTIONS_PER_MEMBER: 50,
  /** Outside production only: the frontend's dev server, and the LiveKit dev server `npm start` signs for. */
  DEV_CORS_ORIGIN: "http://localhost:5173",
  DEV_LIVEKIT_URL: "ws://127.0.0.1:7880",
  DEV_VAPID_SUBJECT: "mailto:ops@nomadnexus.invalid",
} as const;

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const positiveInt = (fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed <= 0) {
        ctx.addIssue({ code: "custom", message: `must be a positive whole number, got "${value}"` });
        return z.NEVER;
      }
      return parsed;
    });

/** "true" or "false"; unset is `fallback`. */
const booleanFlag = (fallback: boolean) =>
  optionalString.transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (value === "false") return false;
    if (value === "true") return true;
    ctx.addIssue({ code: "custom", message: `must be true or false, got "${value}"` });
    return z.NEVER;
  });

/*
 * PUSH_ALLOWED_HOSTS entries: `host` or `host:port`, `*.` in front for the subdomains of a name, `:*` for any
 * port, no port for 443. Checked here so a typo stops the start with one line; Postgres applies the list
 * (nexus_private.push_endpoint_refusal). An address must be written as a URL parser writes it (127.0.0.1,
 * [::1]): other spellings would never match the endpoints they were meant to allow.
 */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const NUMERIC_LABEL = /^([0-9]+|0x[0-9a-f]*)$/;

function allowedHostEntry(raw: string): string {
  const entry = raw.trim().toLowerCase();
  const match = /^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}|\*))?$/.exec(entry);
  if (!match) throw new Error(`"${raw.trim()}" is not host, host:port, *.host or host:*`);
  const [, wildcard, host, port = "443"] = match as unknown as [string, string | undefined, string, string | undefined];
  if (port !== "*" && (Number(port) < 1 || Number(port) > 65535)) throw new Error(`"${raw.trim()}" has no valid port`);
  if (host.startsWith("[")) {
    const address = host.slice(1, -1);
    if (wildcard || !isIPv6(address) || new URL(`https://${host}/`).hostname !== host) {
      throw new Error(`"${raw.trim()}" is not an IPv6 address as a URL writes it`);
    }
  } else if (NUMERIC_LABEL.test(host.split(".").at(-1)!)) {
    if (wildcard || !IPV4.test(host)) throw new Error(`"${raw.trim()}" is not an IPv4 address in dotted-decimal form`);
  } else if (!host.split(".").every((label) => LABEL.test(label))) {
    throw new Error(`"${raw.trim()}" is not a host name`);
  }
  return `${wildcard ?? ""}${host}:${port}`;
}

const allowedHosts = optionalString.transform((value, ctx) => {
  if (value === undefined) return undefined;
  try {
    const entries = value.split(",").filter((e) => e.trim() !== "").map(allowedHostEntry);
    if (entries.length === 0) throw new Error("lists no host");
    return entries.join(",");
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default(DEFAULTS.NODE_ENV),
  PORT: positiveInt(DEFAULTS.PORT),
  // The address the API listens on: unset, every address (a container's port mapping needs that).
  HOST: optionalString.refine((v) => v === undefined || v === "localhost" || isIP(v) !== 0, {
    message: "must be an IP address (127.0.0.1, ::1, 0.0.0.0, ::) or localhost",
  }),
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: "must be a postgres:// connection URL",
  }),
  DATABASE_OWNER_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: "must be a postgres:// connection URL",
  }),
  STATEMENT_TIMEOUT_MS: positiveInt(DEFAULTS.STATEMENT_TIMEOUT_MS),
  DATABASE_POOL_SIZE: positiveInt(DEFAULTS.DATABASE_POOL_SIZE),
  SHUTDOWN_TIMEOUT_MS: positiveInt(DEFAULTS.SHUTDOWN_TIMEOUT_MS),
  REQUEST_TIMEOUT_MS: positiveInt(DEFAULTS.REQUEST_TIMEOUT_MS),
  SUBSCRIPTIONS_PER_SOCKET: positiveInt(DEFAULTS.SUBSCRIPTIONS_PER_SOCKET),
  SUBSCRIPTIONS_PER_MEMBER: positiveInt(DEFAULTS.SUBSCRIPTIONS_PER_MEMBER),
  METRICS_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: "must be at least 16 characters",
  }),
  GRAPHIQL: optionalString.refine((v) => v === undefined || v === "true" || v === "false", {
    message: 'must be "true" or "false"',
  }),
  PERSISTED_OPERATIONS_DIR: optionalString,
  JWT_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: "must be at least 32 characters (HS256 key)",
  }),
  JWT_PREVIOUS_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: "must be at least 32 characters (HS256 key)",
  }),
  JWT_TTL: positiveInt(DEFAULTS.JWT_TTL),
  AUTH_MAX_FAILED_LOGINS: positiveInt(DEFAULTS.AUTH_MAX_FAILED_LOGINS),
  AUTH_MAX_FAILED_LOGINS_PER_ADDRESS: positiveInt(DEFAULTS.AUTH_MAX_FAILED_LOGINS_PER_ADDRESS),
  AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT: positiveInt(DEFAULTS.AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT),
  AUTH_SIGNUPS_PER_HOUR: positiveInt(DEFAULTS.AUTH_SIGNUPS_PER_HOUR),
  AUTH_MAX_LOGINS_PER_ADDRESS: positiveInt(DEFAULTS.AUTH_MAX_LOGINS_PER_ADDRESS),
  AUTH_PASSWORD_CHANGES_PER_HOUR: positiveInt(DEFAULTS.AUTH_PASSWORD_CHANGES_PER_HOUR),
  TRUST_PROXY: optionalString.transform((value, ctx) => {
    if (value === undefined) return DEFAULTS.TRUST_PROXY as TrustProxy;
    if (value === "false") return false as TrustProxy;
    if (value === "true") return true as TrustProxy;
    if (/^[0-9]{1,2}$/.test(value)) return Number(value) as TrustProxy;
    const list = value.split(",").map((v) => v.trim()).filter(Boolean);
    if (list.length && list.every((v) => /^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(v))) return list as TrustProxy;
    ctx.addIssue({ code: "custom", message: `must be false, true, a hop count or comma-separated proxy addresses, got "${value}"` });
    return z.NEVER;
  }),
  ALLOW_SERVICE_ROLE_TOKENS: booleanFlag(DEFAULTS.ALLOW_SERVICE_ROLE_TOKENS),
  AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT: booleanFlag(DEFAULTS.AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT),
  LIVEKIT_URL: optionalString.refine((v) => v === undefined || /^(wss?|https?):\/\//.test(v), {
    message: "must be a ws://, wss://, http:// or https:// URL",
  }),
  LIVEKIT_API_KEY: optionalString,
  LIVEKIT_API_SECRET: optionalString,
  LIVEKIT_WEBHOOK_SECRET: optionalString,
  LIVEKIT_TOKEN_TTL: positiveInt(DEFAULTS.LIVEKIT_TOKEN_TTL),
  LIVEKIT_TIMEOUT_MS: positiveInt(DEFAULTS.LIVEKIT_TIMEOUT_MS),
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: optionalString,
  VAPID_PRIVATE_KEY: optionalString,
  VAPID_SUBJECT: optionalString.refine((v) => v === undefined || /^(mailto:|https:\/\/)/.test(v), {
    message: "must start with mailto: or https://",
  }),
  CORS_ORIGINS: optionalString,
  FLARE_MAX_PER_HOUR: positiveInt(DEFAULTS.FLARE_MAX_PER_HOUR),
  LIVEKIT_TOKENS_PER_MINUTE: positiveInt(DEFAULTS.LIVEKIT_TOKENS_PER_MINUTE),
  LIVEKIT_TOKEN_BURST: positiveInt(DEFAULTS.LIVEKIT_TOKEN_BURST),
  PUSH_REGISTRATIONS_PER_HOUR: positiveInt(DEFAULTS.PUSH_REGISTRATIONS_PER_HOUR),
  PUSH_REGISTRATION_BURST: positiveInt(DEFAULTS.PUSH_REGISTRATION_BURST),
  RANK_CHANGES_PER_HOUR: positiveInt(DEFAULTS.RANK_CHANGES_PER_HOUR),
  RANK_CHANGE_BURST: positiveInt(DEFAULTS.RANK_CHANGE_BURST),
  PUSH_BATCH_SIZE: positiveInt(DEFAULTS.PUSH_BATCH_SIZE),
  PUSH_FANOUT_PAGE_SIZE: positiveInt(DEFAULTS.PUSH_FANOUT_PAGE_SIZE),
  PUSH_ALLOWED_HOSTS: allowedHosts,
  PUSH_TIMEOUT_MS: positiveInt(DEFAULTS.PUSH_TIMEOUT_MS),
  PUSH_CONCURRENCY: positiveInt(DEFAULTS.PUSH_CONCURRENCY),
  PRESENCE_MAX_OPEN_HOURS: positiveInt(DEFAULTS.PRESENCE_MAX_OPEN_HOURS),
  NEXUS_DATA_DIR: optionalString.default(DEFAULTS.NEXUS_DATA_DIR),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default(DEFAULTS.LOG_LEVEL),
  WORKER_CONCURRENCY: positiveInt(DEFAULTS.WORKER_CONCURRENCY),
  WORKER_DEAD_AFTER_SECONDS: positiveInt(DEFAULTS.WORKER_DEAD_AFTER_SECONDS),
});

/**
 * Which proxies' X-Forwarded-For is believed (Express's `trust proxy`): false (default: the socket's address),
 * true (any), a hop count, or the proxies' addresses.
 */
export type TrustProxy = boolean | number | string[];

export type Env = z.infer<typeof schema>;

/** The variables loadConfig reads; `.env.example` lists each (test/foundation/config.test.ts). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export interface Config {
  env: Env["NODE_ENV"];
  isProduction: boolean;
  port: number;
  /** The address the HTTP server listens on; undefined: every address. */
  host: string | undefined;
  databaseUrl: string | undefined;
  /** Where migrations run: the schema owner's login (DATABASE_OWNER_URL), else DATABASE_URL. */
  databaseOwnerUrl: string | undefined;
  /** No API statement runs longer (set per request transaction, with the role switch). */
  statementTimeoutMs: number;
  /** Connections the API server keeps to Postgres (DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /**
   * On SIGTERM or Ctrl-C, how long requests already being answered may take to finish before their connections
   * are cut (SHUTDOWN_TIMEOUT_MS). Below the 10 s a container runtime waits before SIGKILL.
   */
  shutdownTimeoutMs: number;
  /**
   * How long a client may take to send a whole request, headers and body, or to take a GraphQL WebSocket message
   * (REQUEST_TIMEOUT_MS); past it the connection gets 408 and is closed (the WebSocket is ended), so a client
   * trickling bytes or not reading cannot hold connections and answers for minutes. Idle keep-alive connections
   * are not affected.
   */
  requestTimeoutMs: number;
  /**
   * GraphQL subscriptions open at once on one WebSocket (SUBSCRIPTIONS_PER_SOCKET), and for one member over all
   * their sockets to this server process (SUBSCRIPTIONS_PER_MEMBER); past either, RATE_LIMITED.
   */
  subscriptions: { perSocket: number; perMember: number };
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Ruru at /graphiql: on outside production, off in production unless GRAPHIQL=true. */
  graphiql: boolean;
  /** When set, GraphQL runs only the persisted operations in this folder (`<sha256>.graphql`). */
  persistedOperationsDir: string | undefined;
  /** Access tokens: HS256 key and lifetime (JWT_TTL, default 3600 s). */
  jwt: {
    secret: string;
    /**
     * JWT_PREVIOUS_SECRET: while a rotation is under way, tokens signed with the secret before JWT_SECRET are
     * still accepted (the frontend's anon key above all); nothing is ever signed with it.
     */
    previousSecret: string | undefined;
    ttlSeconds: number;
  };
  /**
   * Sign-in limits (SQL reads them as nexus.auth_max_failed_logins[_per_address|_per_account] /
   * nexus.auth_signups_per_hour): wrong passwords per 15 minutes for one account from one address, from one
   * address over all accounts, for one account over all addresses; sign-ups per address an hour; every password
   * sign-in, right or wrong, per address per 5 minutes (nexus.auth_max_logins_per_address); password changes per
   * member an hour (nexus.auth_password_changes_per_hour). And whether HTTP requests may carry a service_role JWT
   * (never, unless ALLOW_SERVICE_ROLE_TOKENS=true).
   */
  auth: {
    maxFailedLogins: number;
    maxFailedLoginsPerAddress: number;
    maxFailedLoginsPerAccount: number;
    signupsPerHour: number;
    maxLoginsPerAddress: number;
    passwordChangesPerHour: number;
    allowServiceRoleTokens: boolean;
    /** A password change must carry the current password (GoTrue's SECURITY_UPDATE_PASSWORD_REQUIRE_CURRENT_PASSWORD). */
    passwordChangeRequiresCurrent: boolean;
  };
  trustProxy: TrustProxy;
  livekit: {
    url: string | undefined;
    apiKey: string | undefined;
    apiSecret: string | undefined;
    webhookSecret: string | undefined;
    tokenTtlSeconds: number;
    /** Deadline of each RoomService call (live rights, presence reconcile). */
    timeoutMs: number;
  };
  vapid: { publicKey: string | undefined; privateKey: string | undefined; subject: string | undefined };
  corsOrigins: string[];
  flareMaxPerHour: number;
  /** Per-member limit on LiveKit tokens (voice nets, sim pods): a bucket of `burst`, refilled at `perMinute`. */
  tokenRateLimit: { perMinute: number; burst: number };
  /** RANK_CHANGES_PER_HOUR, RANK_CHANGE_BURST: a member's bucket of rank changes (public.set_member_rank). */
  rankChangeLimit: { perHour: number; burst: number };
  /**
   * Web Push: devices a fan-out queues per transaction; rows per delivery job (sent concurrently); the push
   * services the worker may contact (normalised `host:port` entries; undefined: the database's list, by default
   * the browsers' push services); the hard deadline of one push, connect to last byte; delivery jobs one worker
   * runs at once, beside (not among) its WORKER_CONCURRENCY other jobs; the per-member limit on registering
   * devices (a bucket of `burst`, refilled at `perHour`).
   */
  push: {
    batchSize: number;
    fanoutPageSize: number;
    allowedHosts: string | undefined;
    timeoutMs: number;
    concurrency: number;
    registrationLimit: { perHour: number; burst: number };
  };
  /** Presence rows open this long with no event are closed by the sweep (their leave was lost). */
  presenceMaxOpenHours: number;
  dataDir: string;
  logLevel: Env["LOG_LEVEL"];
  workerConcurrency: number;
  /** A worker that has not refreshed its heartbeat for this long is presumed dead and its jobs are unlocked. */
  workerDeadAfterSeconds: number;
}

/** Parse the environment. `generated` fills secrets that embedded (development) mode created for itself. */
export function loadConfig(
  source: NodeJS.ProcessEnv = process.env,
  generated: Partial<Record<"JWT_SECRET" | "LIVEKIT_API_KEY" | "LIVEKIT_API_SECRET" | "NEXT_PUBLIC_VAPID_PUBLIC_KEY" | "VAPID_PRIVATE_KEY", string>> = {},
): Config {
  const result = schema.safeParse(source);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`config: ${issue.path.join(".")} ${issue.message}`);
  }
  const env = result.data;
  const jwtSecret = env.JWT_SECRET ?? generated.JWT_SECRET;
  if (!jwtSecret) {
    throw new ConfigError("config: JWT_SECRET is required when DATABASE_URL is set (at least 32 characters)");
  }
  if (env.JWT_PREVIOUS_SECRET !== undefined && env.JWT_PREVIOUS_SECRET === jwtSecret) {
    throw new ConfigError("config: JWT_PREVIOUS_SECRET is the same as JWT_SECRET: set it to the secret you are rotating away from, or unset it");
  }
  if (env.NODE_ENV === "production" && !env.DATABASE_URL) {
    throw new ConfigError("config: DATABASE_URL is required when NODE_ENV=production");
  }
  const vapidPublic = env.NEXT_PUBLIC_VAPID_PUBLIC_KEY ?? generated.NEXT_PUBLIC_VAPID_PUBLIC_KEY;
  const vapidPrivate = env.VAPID_PRIVATE_KEY ?? generated.VAPID_PRIVATE_KEY;
  if (Boolean(vapidPublic) !== Boolean(vapidPrivate)) {
    throw new ConfigError(
      `config: ${vapidPublic ? "VAPID_PRIVATE_KEY" : "NEXT_PUBLIC_VAPID_PUBLIC_KEY"} is required when the other VAPID key is set`,
    );
  }
  const apiSecret = env.LIVEKIT_API_SECRET ?? generated.LIVEKIT_API_SECRET;
  const devOrigins = env.NODE_ENV === "production" ? [] : [DEFAULTS.DEV_CORS_ORIGIN];
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === "production",
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    databaseOwnerUrl: env.DATABASE_OWNER_URL ?? env.DATABASE_URL,
    statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    subscriptions: { perSocket: env.SUBSCRIPTIONS_PER_SOCKET, perMember: env.SUBSCRIPTIONS_PER_MEMBER },
    metricsToken: env.METRICS_TOKEN,
    graphiql: env.GRAPHIQL === undefined ? env.NODE_ENV !== "production" : env.GRAPHIQL === "true",
    persistedOperationsDir: env.PERSISTED_OPERATIONS_DIR,
    jwt: { secret: jwtSecret, previousSecret: env.JWT_PREVIOUS_SECRET, ttlSeconds: env.JWT_TTL },
    auth: {
      maxFailedLogins: env.AUTH_MAX_FAILED_LOGINS,
      maxFailedLoginsPerAddress: env.AUTH_MAX_FAILED_LOGINS_PER_ADDRESS,
      maxFailedLoginsPerAccount: env.AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT,
      signupsPerHour: env.AUTH_SIGNUPS_PER_HOUR,
      maxLoginsPerAddress: env.AUTH_MAX_LOGINS_PER_ADDRESS,
      passwordChangesPerHour: env.AUTH_PASSWORD_CHANGES_PER_HOUR,
      allowServiceRoleTokens: env.ALLOW_SERVICE_ROLE_TOKENS,
      passwordChangeRequiresCurrent: env.AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT,
    },
    trustProxy: env.TRUST_PROXY,
    livekit: {
      url: env.LIVEKIT_URL ?? (generated.LIVEKIT_API_KEY ? DEFAULTS.DEV_LIVEKIT_URL : undefined),
      apiKey: env.LIVEKIT_API_KEY ?? generated.LIVEKIT_API_KEY,
      apiSecret,
      webhookSecret: env.LIVEKIT_WEBHOOK_SECRET ?? apiSecret,
      tokenTtlSeconds: env.LIVEKIT_TOKEN_TTL,
      timeoutMs: env.LIVEKIT_TIMEOUT_MS,
    },
    vapid: {
      publicKey: vapidPublic,
      privateKey: vapidPrivate,
      subject: env.VAPID_SUBJECT ?? (vapidPublic && env.NODE_ENV !== "production" ? DEFAULTS.DEV_VAPID_SUBJECT : undefined),
    },
    corsOrigins: [
      ...new Set([
        ...(env.CORS_ORIGINS ?? "")
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
        ...devOrigins,
      ]),
    ],
    flareMaxPerHour: env.FLARE_MAX_PER_HOUR,
    tokenRateLimit: { perMinute: env.LIVEKIT_TOKENS_PER_MINUTE, burst: env.LIVEKIT_TOKEN_BURST },
    rankChangeLimit: { perHour: env.RANK_CHANGES_PER_HOUR, burst: env.RANK_CHANGE_BURST },
    push: {
      batchSize: env.PUSH_BATCH_SIZE,
      fanoutPageSize: env.PUSH_FANOUT_PAGE_SIZE,
      allowedHosts: env.PUSH_ALLOWED_HOSTS,
      timeoutMs: env.PUSH_TIMEOUT_MS,
      concurrency: env.PUSH_CONCURRENCY,
      registrationLimit: { perHour: env.PUSH_REGISTRATIONS_PER_HOUR, burst: env.PUSH_REGISTRATION_BURST },
    },
    presenceMaxOpenHours: env.PRESENCE_MAX_OPEN_HOURS,
    dataDir: env.NEXUS_DATA_DIR,
    logLevel: env.LOG_LEVEL,
    workerConcurrency: env.WORKER_CONCURRENCY,
    workerDeadAfterSeconds: env.WORKER_DEAD_AFTER_SECONDS,
  };
}

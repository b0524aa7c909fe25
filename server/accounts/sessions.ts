/**
 * Accounts and sessions, once for both edges: GraphQL (`register`, `authenticate`, `refreshSession`, `signOut`)
 * and the GoTrue-compatible /auth/v1 routes call these. Each runs one SQL function as the caller
 * (db/functions/11_sessions.sql decides everything) and then only signs the access JWT for the session it got.
 *
 * Sign-up, sign-in and refresh answer refusals as rows rather than exceptions (the sign-up refused as taken and
 * the failed login are counted, a replayed refresh token's session is revoked, and all of that must be kept), so
 * they run through asCaller, which commits what SQL wrote, and the refusal is raised here afterwards with the code
 * and reason SQL chose.
 */
import type { Pool } from "pg";
import type { Config } from "../../core/config.ts";
import { makeAsCaller, type CallerStatement } from "../../core/database/caller.ts";
import { ApiError, type ErrorCode } from "../../core/errors.ts";
import { pgSettingsFor, signJwt } from "../../core/jwt.ts";

/** The caller's settings (role, JWT claims, …) as the edge made them. */
export type PgSettings = Record<string, string | undefined>;

/** Who is asking, as the edge saw them: for the sign-up limit and the session row. */
export interface ClientInfo {
  address: string | undefined;
  userAgent: string | undefined;
}

export interface Account {
  id: string;
  email: string;
  callsign: string;
  rank: string;
  created_at: string;
}

/** A signed-in session as both edges hand it out. */
export interface SessionGrant {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives (JWT_TTL). */
  expiresIn: number;
  /** Unix seconds. */
  expiresAt: number;
  sessionId: string;
  account: Account;
}

interface Outcome {
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
  error: string | null;
  reason: string | null;
  detail: string | null;
  retry_after: number | null;
}

const OUTCOME_COLUMNS = "o.user_id, o.session_id, o.refresh_token, o.error, o.reason, o.detail, o.retry_after";
const REFUSAL_CODES: readonly ErrorCode[] = ["UNAUTHENTICATED", "RATE_LIMITED", "CONFLICT", "BAD_REQUEST"];

export type Accounts = ReturnType<typeof makeAccounts>;

export function makeAccounts(config: Config, pool: Pool) {
  const asCaller = makeAsCaller(pool);
  // The limits SQL reads for these calls only (no other request needs them).
  const limits = {
    "nexus.auth_max_failed_logins": String(config.auth.maxFailedLogins),
    "nexus.auth_max_failed_logins_per_address": String(config.auth.maxFailedLoginsPerAddress),
    "nexus.auth_max_failed_logins_per_account": String(config.auth.maxFailedLoginsPerAccount),
    "nexus.auth_signups_per_hour": String(config.auth.signupsPerHour),
    "nexus.auth_max_logins_per_address": String(config.auth.maxLoginsPerAddress),
    "nexus.auth_password_changes_per_hour": String(config.auth.passwordChangesPerHour),
    "nexus.auth_password_change_requires_current": String(config.auth.passwordChangeRequiresCurrent),
  };
  const settingsFor = (pgSettings: PgSettings): PgSettings => ({ ...pgSettings, ...limits });

  async function run<T>(pgSettings: PgSettings, statement: CallerStatement): Promise<T[]> {
    const [result] = await asCaller(settingsFor(pgSettings), [statement]);
    return result!.rows as T[];
  }

  /** The account behind a session: read as the new session's member, so SQL shows them only themselves. */
  async function accountOf(userId: string, sessionId: string): Promise<Account> {
    const claims = { sub: userId, role: "authenticated" as const, session_id: sessionId };
    const [account] = await run<Account>(pgSettingsFor(claims), {
      name: "nexus_current_user_account",
      text: "select a.id, a.email, a.callsign, a.rank::text as rank, a.created_at from auth.current_user_account() a",
      values: [],
    });
    if (!account) throw new ApiError("UNAUTHENTICATED", "this member no longer exists");
    return account;
  }

  /** A refusal SQL answered as a row (auth.session_outcome), thrown as the ApiError it names. */
  function refuseIfRefused(outcome: Outcome | undefined, what: string): asserts outcome is Outcome {
    if (!outcome) throw new ApiError("INTERNAL", `${what} returned nothing`);
    if (outcome.error) {
      // Only the codes SQL answers as rows are passed on as they are; anything else is a fault.
      const code = (REFUSAL_CODES as readonly string[]).includes(outcome.error) ? (outcome.error as ErrorCode) : "INTERNAL";
      throw new ApiError(code, outcome.detail ?? "refused", {
        reason: outcome.reason ?? undefined,
        retryAfterSeconds: outcome.retry_after ?? undefined,
      });
    }
  }

  async function grant(outcome: Outcome | undefined): Promise<SessionGrant> {
    refuseIfRefused(outcome, "sign-in");
    if (!outcome.user_id || !outcome.session_id || !outcome.refresh_token) throw new ApiError("INTERNAL", "sign-in returned no session");
    const account = await accountOf(outcome.user_id, outcome.session_id);
    const ttl = config.jwt.ttlSeconds;
    const accessToken = await signJwt(
      config.jwt.secret,
      { sub: outcome.user_id, role: "authenticated", sessionId: outcome.session_id, email: account.email },
      ttl,
    );
    return {
      accessToken,
      refreshToken: outcome.refresh_token,
      expiresIn: ttl,
      expiresAt: Math.floor(Date.now() / 1000) + ttl,
      sessionId: outcome.session_id,
      account,
    };
  }

  return {
    async register(
      pgSettings: PgSettings,
      input: { email: string; password: string; callsign: string },
      client: ClientInfo,
    ): Promise<SessionGrant> {
      const [outcome] = await run<Outcome>(pgSettings, {
        name: "nexus_register",
        text: `select ${OUTCOME_COLUMNS} from auth.register($1, $2, $3, $4, $5) o`,
        values: [input.email, input.password, input.callsign, client.userAgent ?? null, client.address ?? null],
      });
      return grant(outcome);
    },

    async signIn(pgSettings: PgSettings, input: { email: string; password: string }, client: ClientInfo): Promise<SessionGrant> {
      const [outcome] = await run<Outcome>(pgSettings, {
        name: "nexus_sign_in",
        text: `select ${OUTCOME_COLUMNS} from auth.sign_in($1, $2, $3, $4) o`,
        values: [input.email, input.password, client.userAgent ?? null, client.address ?? null],
      });
      return grant(outcome);
    },

    async refresh(pgSettings: PgSettings, refreshToken: string): Promise<SessionGrant> {
      const [outcome] = await run<Outcome>(pgSettings, {
        name: "nexus_refresh_session",
        text: `select ${OUTCOME_COLUMNS} from auth.refresh_session($1) o`,
        values: [refreshToken],
      });
      return grant(outcome);
    },

    /** Sign out (scope local, global or others); returns how many sessions ended. */
    async signOut(pgSettings: PgSettings, scope: string | null): Promise<number> {
      const [row] = await run<{ ended: number }>(pgSettings, {
        name: "nexus_sign_out",
        text: "select auth.sign_out($1) as ended",
        values: [scope],
      });
      return row!.ended;
    },

    /** Change the caller's password (their other sessions end) and/or callsign; returns their account. */
    async updateAccount(
      pgSettings: PgSettings,
      input: { password?: string; currentPassword?: string; callsign?: string },
      client: ClientInfo,
    ): Promise<Account> {
      // All or nothing: a callsign refused (taken: auth.change_password_and_callsign; too long: an error) undoes the
      // password change with it, so a 4xx means nothing changed, while the bcrypt it paid still counts against the
      // change limit. A wrong current password is a refusal row, not an error: its failure is counted (committed),
      // and the callsign is left as it was.
      const statements: CallerStatement[] = [];
      const password = [input.password, input.currentPassword ?? null, client.address ?? null];
      if (input.password !== undefined && input.callsign !== undefined) {
        statements.push({
          name: "nexus_change_password_and_callsign",
          text: `select ${OUTCOME_COLUMNS} from auth.change_password_and_callsign($1, $2, $3, $4) o`,
          values: [...password, input.callsign],
        });
      } else if (input.password !== undefined) {
        statements.push({ name: "nexus_change_password", text: `select ${OUTCOME_COLUMNS} from auth.change_password($1, $2, $3) o`, values: password });
      } else if (input.callsign !== undefined) {
        statements.push({
          name: "nexus_change_callsign",
          text: "update public.profiles set callsign = $1 where id = auth.uid()",
          values: [input.callsign],
        });
      }
      statements.push({
        name: "nexus_current_user_account",
        text: "select a.id, a.email, a.callsign, a.rank::text as rank, a.created_at from auth.current_user_account() a",
        values: [],
      });
      const results = await asCaller(settingsFor(pgSettings), statements);
      if (input.password !== undefined) refuseIfRefused(results[0]!.rows[0] as Outcome | undefined, "the password change");
      const account = results.at(-1)!.rows[0] as Account | undefined;
      if (!account) throw new ApiError("UNAUTHENTICATED", "sign in first");
      return account;
    },

    /** Whether the caller's JWT names a session that has ended (auth.session_ended()). */
    async sessionEnded(pgSettings: PgSettings): Promise<boolean> {
      const [row] = await run<{ ended: boolean }>(pgSettings, { name: "nexus_session_ended", text: "select auth.session_ended() as ended", values: [] });
      return row?.ended === true;
    },

    /** The caller's own account, or null when the caller is no member (anon, or a deleted member's JWT). */
    async currentAccount(pgSettings: PgSettings): Promise<Account | null> {
      const [account] = await run<Account>(pgSettings, {
        name: "nexus_current_user_account",
        text: "select a.id, a.email, a.callsign, a.rank::text as rank, a.created_at from auth.current_user_account() a",
        values: [],
      });
      return account ?? null;
    },
  };
}

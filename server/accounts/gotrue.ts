/**
 * GoTrue-compatible routes under /auth/v1, enough for an unmodified @supabase/supabase-js 2.x client
 * (`auth.signUp`, `signInWithPassword`, `getSession` and its refreshes, `getUser`, `updateUser`, `signOut`):
 *
 *   POST /auth/v1/signup                        {email, password, data: {callsign}} -> session
 *   POST /auth/v1/token?grant_type=password     {email, password}                   -> session
 *   POST /auth/v1/token?grant_type=refresh_token {refresh_token}                    -> session
 *   GET  /auth/v1/user                                                               -> user
 *   PUT  /auth/v1/user                          {password, current_password?, data: {callsign}?} -> user
 *   POST /auth/v1/logout?scope=local|global|others                                   -> 204
 *
 * Thin adapters over server/accounts/sessions.ts (the same SQL functions as GraphQL). Bodies are GoTrue's: a
 * session is {access_token, token_type, expires_in, expires_at, refresh_token, user}; an error is
 * {code, error_code, msg} with the X-Supabase-Api-Version header, so supabase-js raises AuthApiError (or
 * AuthWeakPasswordError) with the status and code GoTrue would have given. `apikey` is accepted and not needed:
 * what is checked is the Authorization JWT, as everywhere else (a service_role one is refused).
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { ApiError, toApiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { authenticateRequest, type EdgeAuth, type RequestAuth } from "../auth.ts";
import { answeredBodyFailure, noteRefusal, parseBody, readJsonBody } from "../http.ts";
import type { Account, Accounts, SessionGrant } from "./sessions.ts";

const API_VERSION = "2024-01-01";

/** GoTrue's user object for one of our accounts; callsign and rank travel in user_metadata. */
export function gotrueUser(account: Account) {
  const created = new Date(account.created_at).toISOString();
  return {
    id: account.id,
    aud: "authenticated",
    role: "authenticated",
    email: account.email,
    email_confirmed_at: created,
    confirmed_at: created,
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: { callsign: account.callsign, rank: account.rank },
    identities: [],
    created_at: created,
    updated_at: created,
    is_anonymous: false,
  };
}

function gotrueSession(grant: SessionGrant) {
  return {
    access_token: grant.accessToken,
    token_type: "bearer",
    expires_in: grant.expiresIn,
    expires_at: grant.expiresAt,
    refresh_token: grant.refreshToken,
    user: gotrueUser(grant.account),
  };
}

type Grant = "password" | "refresh_token" | "other";

/** Our stable codes in GoTrue's terms: the status and error_code supabase-js expects for the same failure. */
function gotrueError(error: ApiError, grant: Grant): { status: number; code: string; msg: string; extra?: Record<string, unknown> } {
  switch (error.code) {
    case "RATE_LIMITED":
      return { status: 429, code: error.reason ?? "over_request_rate_limit", msg: error.message };
    case "UNAUTHENTICATED":
      if (grant === "password") return { status: 400, code: "invalid_credentials", msg: "Invalid login credentials" };
      if (grant === "refresh_token") return { status: 400, code: error.reason ?? "refresh_token_not_found", msg: error.message };
      return { status: 401, code: error.reason ?? "no_authorization", msg: error.message };
    case "BAD_REQUEST":
      if (error.reason === "weak_password") {
        return { status: 422, code: "weak_password", msg: error.message, extra: { weak_password: { reasons: ["length"] } } };
      }
      return { status: 400, code: error.reason ?? "validation_failed", msg: error.message };
    case "CONFLICT":
      if (error.reason === "user_already_exists") return { status: 422, code: "user_already_exists", msg: "User already registered" };
      return { status: 409, code: error.reason ?? "conflict", msg: error.message };
    case "INSUFFICIENT_CLEARANCE":
      return { status: 403, code: "insufficient_clearance", msg: error.message };
    case "NOT_FOUND":
      return { status: 404, code: "not_found", msg: error.message };
    case "UNAVAILABLE":
      return { status: 503, code: "unexpected_failure", msg: error.message };
    default:
      return { status: 500, code: "unexpected_failure", msg: "internal error" };
  }
}

function sendGotrueError(res: Response, error: ApiError, grant: Grant = "other"): void {
  const { status, code, msg, extra } = gotrueError(error, grant);
  if (status === 401) noteRefusal(res, error);
  if (error.retryAfterSeconds !== undefined) res.set("Retry-After", String(Math.ceil(error.retryAfterSeconds)));
  res.status(status).set("X-Supabase-Api-Version", API_VERSION).json({ code, error_code: code, msg, ...extra });
}

const credentials = z.object({
  email: z.string().max(320),
  password: z.string().max(1024),
});
const signUpBody = credentials.extend({
  data: z.object({ callsign: z.string().max(64).optional() }).loose().optional(),
});
const refreshBody = z.object({ refresh_token: z.string().max(1024) });
const updateBody = z.object({
  password: z.string().max(1024).optional(),
  current_password: z.string().max(1024).optional(),
  email: z.string().max(320).optional(),
  data: z.object({ callsign: z.string().max(64).optional() }).loose().optional(),
});

/** The caller must be a member (a JWT with role authenticated); which member, and whether they still exist, SQL says. */
function requireMemberToken(auth: RequestAuth): void {
  if (auth.claims?.role !== "authenticated" || !auth.claims.sub) {
    throw new ApiError("UNAUTHENTICATED", "this route needs a signed-in member's access token", { reason: "no_authorization", refusal: "no_token" });
  }
}

const BODY_LIMIT = 64 * 1024;

export function gotrueRouter(accounts: Accounts, edge: EdgeAuth, log: Logger, clientAddress: (req: Request) => string): Router {
  const router = express.Router();
  // The body as /functions/v1 reads it (server/http.ts readJsonBody): at most 64 KiB, refused as soon as it is
  // larger, and the connection then closed, not read to its end (Express's body parser read any size to the end
  // before its 413: an anonymous client could keep the server reading for ever); malformed JSON, or JSON that is
  // not an object, is a 400 that says so.
  router.use(async (req, res, next) => {
    try {
      req.body = await readJsonBody(req, BODY_LIMIT);
      next();
    } catch (error) {
      if (!answeredBodyFailure(res, error, req.log ?? log, (_, refused) => sendGotrueError(res, new ApiError("BAD_REQUEST", refused.message)))) next(error);
    }
  });

  // Every route reads the Authorization JWT first (the anon key, or a member's access token): a bad or
  // service_role one stops here with 401, before any SQL.
  router.use(async (req, res, next) => {
    try {
      req.nexusAuth = await authenticateRequest(req.headers.authorization, edge);
      next();
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError("UNAUTHENTICATED", "invalid token");
      sendGotrueError(res, new ApiError("UNAUTHENTICATED", apiError.message, { reason: "bad_jwt", refusal: apiError.refusal }));
    }
  });

  const client = (req: Request) => ({ address: clientAddress(req), userAgent: req.headers["user-agent"]?.slice(0, 512) });
  const handle =
    (grantOf: (req: Request) => Grant, fn: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
      try {
        await fn(req, res);
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.status >= 500) (req.log ?? log).error({ err: error, path: req.path }, "/auth/v1 request failed");
        sendGotrueError(res, apiError, grantOf(req));
      }
    };
  const noGrant = () => "other" as const;

  router.post(
    "/signup",
    handle(noGrant, async (req, res) => {
      const body = parseBody(signUpBody, req.body);
      const callsign = body.data?.callsign;
      if (!callsign) throw new ApiError("BAD_REQUEST", "sign-up needs a callsign: options.data.callsign", { reason: "validation_failed" });
      const grant = await accounts.register(req.nexusAuth!.pgSettings, { email: body.email, password: body.password, callsign }, client(req));
      res.json(gotrueSession(grant));
    }),
  );

  const grantType = (req: Request): Grant => {
    const type = req.query.grant_type;
    return type === "password" || type === "refresh_token" ? type : "other";
  };
  router.post(
    "/token",
    handle(grantType, async (req, res) => {
      const type = grantType(req);
      if (type === "password") {
        const body = parseBody(credentials, req.body);
        res.json(gotrueSession(await accounts.signIn(req.nexusAuth!.pgSettings, body, client(req))));
      } else if (type === "refresh_token") {
        const body = parseBody(refreshBody, req.body);
        res.json(gotrueSession(await accounts.refresh(req.nexusAuth!.pgSettings, body.refresh_token)));
      } else {
        throw new ApiError("BAD_REQUEST", "grant_type must be password or refresh_token", { reason: "unsupported_grant_type" });
      }
    }),
  );

  router.get(
    "/user",
    handle(noGrant, async (req, res) => {
      const auth = req.nexusAuth!;
      requireMemberToken(auth);
      const account = await accounts.currentAccount(auth.pgSettings);
      if (!account) {
        // GoTrue's answers for a JWT whose session has ended (supabase-js then drops it) or whose user is gone.
        const ended = await accounts.sessionEnded(auth.pgSettings);
        res
          .status(403)
          .set("X-Supabase-Api-Version", API_VERSION)
          .json(
            ended
              ? { code: "session_not_found", error_code: "session_not_found", msg: "Session from session_id claim in JWT does not exist" }
              : { code: "user_not_found", error_code: "user_not_found", msg: "User from sub claim in JWT does not exist" },
          );
        return;
      }
      res.json(gotrueUser(account));
    }),
  );

  router.put(
    "/user",
    handle(noGrant, async (req, res) => {
      const auth = req.nexusAuth!;
      requireMemberToken(auth);
      const body = parseBody(updateBody, req.body);
      if (body.email !== undefined) {
        const current = await accounts.currentAccount(auth.pgSettings);
        if (body.email.toLowerCase() !== current?.email) {
          throw new ApiError("BAD_REQUEST", "changing the e-mail address is not supported", { reason: "email_change_not_supported" });
        }
      }
      const account = await accounts.updateAccount(auth.pgSettings, {
        password: body.password,
        currentPassword: body.current_password,
        callsign: body.data?.callsign,
      }, client(req));
      res.json(gotrueUser(account));
    }),
  );

  router.post(
    "/logout",
    handle(noGrant, async (req, res) => {
      const auth = req.nexusAuth!;
      requireMemberToken(auth);
      // A repeated scope counts by its first value, as GoTrue reads it (Go's Query().Get); SQL refuses an unknown
      // one with 400. It used to fall back to local, silently signing out less than was asked for.
      const asked = Array.isArray(req.query.scope) ? req.query.scope[0] : req.query.scope;
      const scope = asked === undefined ? "local" : typeof asked === "string" ? asked : null;
      await accounts.signOut(auth.pgSettings, scope);
      res.status(204).end();
    }),
  );

  router.use((req, res) => {
    sendGotrueError(res, new ApiError("NOT_FOUND", `no route ${req.method} ${req.baseUrl}${req.path}`));
  });
  router.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    log.error({ err: error }, "/auth/v1 request failed");
    sendGotrueError(res, toApiError(error));
  });
  return router;
}

/**
 * The runbook's REST edge (`POST /functions/v1/<name>`), written once for every route: JSON body of at most
 * 64 KiB, `Authorization: Bearer <JWT>` verified before any SQL, the body validated with a zod schema, the
 * handler run with the caller's pgSettings (same mechanism as GraphQL), and every failure mapped to
 * `{ error: CODE, message }` with the status of core/errors.ts. Handlers are thin adapters over SQL functions.
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Pool } from "pg";
import { makePgAdaptorWithPgClient, type NodePostgresPgClient } from "postgraphile/adaptors/pg";
import type { z } from "zod";
import { edgeAuth, requireValidJwt, type RequestAuth } from "../auth.ts";
import type { Config } from "../../core/config.ts";
import { makeAsCaller, type CallerResult, type CallerStatement } from "../../core/database/caller.ts";
import { ApiError, toApiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";

export type PgClient = NodePostgresPgClient;

export interface RouteContext {
  auth: RequestAuth;
  /** The caller's user id (routes require a signed-in member). */
  userId: string;
  /** Run queries as the caller (role and JWT claims as pgSettings, in one transaction). */
  withClient<T>(fn: (client: PgClient) => Promise<T>): Promise<T>;
  /**
   * Run named statements as the caller in one transaction and ONE round trip (core/database/caller.ts), for
   * hot routes; withClient is four.
   */
  asCaller(statements: readonly CallerStatement[]): Promise<CallerResult<any>[]>;
  req: Request;
}

export type RouteHandler<T> = (input: T, ctx: RouteContext) => Promise<{ status?: number; body: unknown }>;

export interface RestRoute {
  name: string;
  schema: z.ZodType<any>;
  handler: RouteHandler<any>;
}

/** Declare a route: its name under /functions/v1, its body schema, its handler. */
export function defineRoute<S extends z.ZodType<any>>(name: string, schema: S, handler: RouteHandler<z.infer<S>>): RestRoute {
  return { name, schema, handler };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const field = issue.path.join(".");
  return field ? `${field}: ${issue.message}` : issue.message;
}

export function sendError(res: Response, error: ApiError): void {
  if (error.retryAfterSeconds !== undefined) res.set("Retry-After", String(Math.ceil(error.retryAfterSeconds)));
  if (error.code === "METHOD_NOT_ALLOWED") res.set("Allow", "POST, OPTIONS");
  res.status(error.status).json({ error: error.code, message: error.message });
}

export interface RestOptions {
  config: Config;
  pool: Pool;
  log: Logger;
  routes: RestRoute[];
}

export function restRouter({ config, pool, log, routes }: RestOptions): Router {
  const router = express.Router();
  const withPgClient = makePgAdaptorWithPgClient(pool);
  const asCaller = makeAsCaller(pool);

  router.use(express.json({ limit: "64kb", type: () => true }));
  router.use(requireValidJwt(edgeAuth(config), "rest"));

  for (const route of routes) {
    router.post(`/${route.name}`, async (req, res) => {
      const auth = req.nexusAuth!;
      try {
        const userId = auth.claims?.sub;
        if (!userId || auth.claims?.role !== "authenticated") {
          throw new ApiError("UNAUTHENTICATED", "this route needs a signed-in member's JWT");
        }
        const parsed = route.schema.safeParse(req.body ?? {});
        if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssue(parsed.error));
        const result = await route.handler(parsed.data, {
          auth,
          userId,
          req,
          withClient: (fn) => withPgClient(auth.pgSettings, fn),
          asCaller: (statements) => asCaller(auth.pgSettings, statements),
        });
        res.status(result.status ?? 200).json(result.body);
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.status >= 500) log.error({ err: error, route: route.name }, "REST route failed");
        sendError(res, apiError);
      }
    });
    // The runbook's routes are POST only (OPTIONS is the CORS preflight, answered before this router).
    router.all(`/${route.name}`, (req, res) => {
      sendError(res, new ApiError("METHOD_NOT_ALLOWED", `${req.baseUrl}/${route.name} answers POST, not ${req.method}`));
    });
  }

  router.use((req, res) => {
    sendError(res, new ApiError("NOT_FOUND", `no route ${req.method} ${req.baseUrl}${req.path}`));
  });

  // Body parser failures (malformed JSON, too large) arrive here: always a 4xx JSON answer, never a 500.
  router.use((error: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (error.type === "entity.too.large") return sendError(res, new ApiError("BAD_REQUEST", "body larger than 64 KiB"));
    if (error.type === "entity.parse.failed") return sendError(res, new ApiError("BAD_REQUEST", "body is not valid JSON"));
    if (error.status && error.status < 500) return sendError(res, new ApiError("BAD_REQUEST", error.message));
    log.error({ err: error }, "REST request failed");
    sendError(res, toApiError(error));
  });
  return router;
}

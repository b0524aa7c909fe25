/**
 * The HTTP edge of authentication: `Authorization: Bearer <jwt>` read into a request's verified claims and
 * pgSettings (verification itself is core/jwt.ts), before any SQL.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../core/errors.ts";
import { noteRefusal, writeJson } from "./http.ts";
import type { Config } from "../core/config.ts";
import { configPgSettings, pgSettingsFor, verifyJwt, type Claims } from "../core/jwt.ts";

/** What a request runs as: verified claims (null for anonymous) and the pgSettings that carry them. */
export interface RequestAuth {
  claims: Claims | null;
  pgSettings: Record<string, string>;
}

/** Who is calling, and from where, as the GraphQL edge (server/graphql/edge.ts) found it: read by preset.ts. */
declare module "node:http" {
  interface IncomingMessage {
    nexusAuth?: RequestAuth;
    nexusClient?: { address: string; userAgent: string | undefined };
  }
}

/** How the edge checks tokens: the HS256 secret, settings passed to SQL with every request, service_role or not. */
export interface EdgeAuth {
  secret: string;
  /** JWT_PREVIOUS_SECRET: still accepted, during a rotation. */
  previousSecret: string | undefined;
  pgSettings: Record<string, string>;
  /** ALLOW_SERVICE_ROLE_TOKENS: a service_role JWT bypasses RLS, so over HTTP it is refused unless this is set. */
  allowServiceRole: boolean;
}

export function edgeAuth(config: Config): EdgeAuth {
  return { secret: config.jwt.secret, previousSecret: config.jwt.previousSecret, pgSettings: configPgSettings(config), allowServiceRole: config.auth.allowServiceRoleTokens };
}

/**
 * Reads `Authorization: Bearer <jwt>` (absent = anonymous) into the request's RequestAuth. A service_role token
 * is refused here, before any SQL, unless the operator allowed them: reusing a Supabase project's JWT secret
 * would otherwise turn that project's old service key into a master key. The CLI and the worker reach the
 * database directly and never pass through here.
 */
export async function authenticateRequest(header: string | undefined, edge: EdgeAuth): Promise<RequestAuth> {
  if (!header) return { claims: null, pgSettings: pgSettingsFor(null, edge.pgSettings) };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError("UNAUTHENTICATED", "Authorization header must be 'Bearer <token>'", { refusal: "bad_header" });
  const claims = await verifyJwt(match[1]!, edge.secret, edge.previousSecret);
  if (claims.role === "service_role" && !edge.allowServiceRole) {
    throw new ApiError("UNAUTHENTICATED", "service_role tokens are not accepted over HTTP (ALLOW_SERVICE_ROLE_TOKENS is off)", { refusal: "service_role_refused" });
  }
  return { claims, pgSettings: pgSettingsFor(claims, edge.pgSettings) };
}

/**
 * The caller of an HTTP request, or, for a bad token, a 401 answered here (the request never reaches the
 * database) and undefined. `shape` picks the error body: GraphQL's `{ errors: [...] }` or the REST routes'
 * `{ error, message }`. Used by the edges answered before Express (REST and GraphQL).
 */
export async function authenticateOrRefuse(req: IncomingMessage, res: ServerResponse, edge: EdgeAuth, shape: "graphql" | "rest"): Promise<RequestAuth | undefined> {
  try {
    return await authenticateRequest(req.headers.authorization, edge);
  } catch (error) {
    const apiError = error instanceof ApiError ? error : new ApiError("UNAUTHENTICATED", "invalid token");
    const body =
      shape === "graphql"
        ? { errors: [{ message: apiError.message, extensions: { code: apiError.code } }] }
        : { error: apiError.code, message: apiError.message };
    noteRefusal(res, apiError);
    res.setHeader("WWW-Authenticate", 'Bearer error="invalid_token"');
    writeJson(res, 401, body);
    return undefined;
  }
}

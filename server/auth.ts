/**
 * The HTTP edge of authentication: `Authorization: Bearer <jwt>` read into a request's verified claims and
 * pgSettings (verification itself is core/jwt.ts), before any SQL.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { ApiError } from "../core/errors.ts";
import { writeJson } from "./http.ts";
import { pgSettingsFor, verifyJwt, type Claims } from "../core/jwt.ts";

/** What a request runs as: verified claims (null for anonymous) and the pgSettings that carry them. */
export interface RequestAuth {
  claims: Claims | null;
  pgSettings: Record<string, string>;
}

declare global {
  namespace Express {
    interface Request {
      nexusAuth?: RequestAuth;
    }
  }
}

/** Reads `Authorization: Bearer <jwt>` (absent = anonymous) into the request's RequestAuth. */
export async function authenticateRequest(
  header: string | undefined,
  secret: string,
  configured: Record<string, string> = {},
): Promise<RequestAuth> {
  if (!header) return { claims: null, pgSettings: pgSettingsFor(null, configured) };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError("UNAUTHENTICATED", "Authorization header must be 'Bearer <token>'");
  const claims = await verifyJwt(match[1]!, secret);
  return { claims, pgSettings: pgSettingsFor(claims, configured) };
}

/**
 * The caller of an HTTP request, or, for a bad token, a 401 answered here (the request never reaches the
 * database) and undefined. `shape` picks the error body: GraphQL's `{ errors: [...] }` or the REST routes'
 * `{ error, message }`. Used by the Express middleware below and by the routes answered before Express.
 */
export async function authenticateOrRefuse(
  req: IncomingMessage,
  res: ServerResponse,
  secret: string,
  shape: "graphql" | "rest",
  configured: Record<string, string> = {},
): Promise<RequestAuth | undefined> {
  try {
    return await authenticateRequest(req.headers.authorization, secret, configured);
  } catch (error) {
    const apiError = error instanceof ApiError ? error : new ApiError("UNAUTHENTICATED", "invalid token");
    const body =
      shape === "graphql"
        ? { errors: [{ message: apiError.message, extensions: { code: apiError.code } }] }
        : { error: apiError.code, message: apiError.message };
    res.setHeader("WWW-Authenticate", 'Bearer error="invalid_token"');
    writeJson(res, 401, body);
    return undefined;
  }
}

/** Express middleware: authenticateOrRefuse, the caller in req.nexusAuth. */
export function requireValidJwt(secret: string, shape: "graphql" | "rest", configured: Record<string, string> = {}) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const auth = await authenticateOrRefuse(req, res, secret, shape, configured);
    if (!auth) return;
    req.nexusAuth = auth;
    next();
  };
}

/**
 * The HTTP edge of authentication: `Authorization: Bearer <jwt>` read into a request's verified claims and
 * pgSettings (verification itself is core/jwt.ts), before any SQL.
 */
import type { NextFunction, Request, Response } from "express";
import { ApiError } from "../core/errors.ts";
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
 * Express middleware: a request with a bad token stops here with 401 and never reaches the database.
 * `shape` picks the error body: GraphQL's `{ errors: [...] }` or the REST routes' `{ error, message }`.
 */
export function requireValidJwt(secret: string, shape: "graphql" | "rest", configured: Record<string, string> = {}) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      req.nexusAuth = await authenticateRequest(req.headers.authorization, secret, configured);
      next();
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError("UNAUTHENTICATED", "invalid token");
      res.status(401).set("WWW-Authenticate", 'Bearer error="invalid_token"');
      if (shape === "graphql") {
        res.json({ errors: [{ message: apiError.message, extensions: { code: apiError.code } }] });
      } else {
        res.json({ error: apiError.code, message: apiError.message });
      }
    }
  };
}

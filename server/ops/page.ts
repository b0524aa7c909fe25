/**
 * The /ops page: static HTML and a JS module (server/ops/static, no build step). It holds nothing but markup and
 * reaches data only through /graphql with the operator's own JWT.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";
import helmet from "helmet";

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "static");

/**
 * The page may only talk to this origin, run its own module and never be framed (the other security headers come
 * from server/http.ts for every route).
 */
const pageHeaders = [
  helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      connectSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  }),
  helmet.referrerPolicy({ policy: "no-referrer" }),
];

export function mountOpsPage(app: Express): void {
  const page = path.join(STATIC_DIR, "index.html");
  const sendPage: express.RequestHandler = (_req, res) => {
    res.set("Cache-Control", "no-cache").sendFile(page);
  };
  app.get(["/ops", "/ops/"], ...pageHeaders, sendPage);
  app.use("/ops", ...pageHeaders, express.static(STATIC_DIR, { index: false, fallthrough: false, maxAge: 0 }));
}

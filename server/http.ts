/**
 * Cross-cutting HTTP behaviour: a request id on every request and one log line when it ends, security headers,
 * and CORS for the browser-facing routes (the webhook shim is server-to-server and gets none). Each is written
 * once on node's own request and response, and used both as Express middleware and by the hot routes answered
 * before Express (server/rest/edge.ts).
 */
import { randomUUID } from "node:crypto";
import { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import helmet from "helmet";
import proxyAddr from "proxy-addr";
import type { z } from "zod";
import type { TrustProxy } from "../core/config.ts";
import { ApiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

declare global {
  namespace Express {
    interface Request {
      id?: string;
      log?: Logger;
    }
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request's path: its URL up to the query string. */
export function requestPath(req: { url?: string }): string {
  const url = req.url ?? "";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** The most characters of a client's text (a path, a method) that a log line carries. */
export const LOGGED_TEXT_MAX = 256;

/**
 * A client's text as a log line carries it: whole up to LOGGED_TEXT_MAX characters, else its start and how long
 * it was (`/nope/AAAA…[+14750 characters]`). A 404 for a 15 KB path then logs a line of the usual size, still
 * telling what was asked for; pino escapes what is kept, so no text forges a line.
 */
export function loggedText(text: string): string {
  return text.length <= LOGGED_TEXT_MAX ? text : `${text.slice(0, LOGGED_TEXT_MAX)}…[+${text.length - LOGGED_TEXT_MAX} characters]`;
}

let warnedOfForwardedFor = false;

/**
 * The client's address, read as TRUST_PROXY says (the X-Forwarded-For hops added by trusted proxies, as Express's
 * `trust proxy` reads them): false trusts none (the socket's peer), true all, a number that many hops, a list
 * those addresses. The sign-up and sign-in limits per address use it, on GraphQL and /auth/v1 alike.
 *
 * With TRUST_PROXY off, the first request whose address is read (GraphQL, /auth/v1 sign-up, sign-in and user
 * update) that carries X-Forwarded-For is logged once (a warning), because a
 * proxy in front that nobody declared makes every client one address to those limits: one client's wrong
 * passwords then refuse everyone's sign-ins.
 */
export function clientAddressOf(trust: TrustProxy, log: Logger): (req: IncomingMessage) => string {
  const trusted = typeof trust === "boolean" ? () => trust : typeof trust === "number" ? (_address: string, hop: number) => hop < trust : proxyAddr.compile(trust);
  if (trust !== false) return (req) => proxyAddr(req, trusted);
  return (req) => {
    const address = proxyAddr(req, trusted);
    if (!warnedOfForwardedFor && req.headers["x-forwarded-for"] !== undefined) {
      warnedOfForwardedFor = true;
      log.warn(
        // Express strips a router's mount point from req.url; originalUrl keeps the path the client asked for.
        { address, path: loggedText(requestPath({ url: (req as { originalUrl?: string }).originalUrl ?? req.url })) },
        "a request carries X-Forwarded-For but TRUST_PROXY is false, so the limits per client address count it as " +
          "its connection's address. If a proxy of yours sets that header, every client behind it is one address " +
          "(one client's wrong passwords refuse every sign-in, and AUTH_MAX_LOGINS_PER_ADDRESS sign-ins in 5 minutes " +
          "are the whole organisation's): set TRUST_PROXY (docs/ACCOUNTS.md). If no proxy " +
          "of yours does, a client sent it and it is ignored, as it should be. Logged once.",
      );
    }
    return address;
  };
}

/**
 * A request's id and its child logger, made when something logs (most requests log nothing at the usual levels).
 *
 * A class, so its `log` getter is one function on the prototype. An object literal with a getter, made per
 * request, gave every request's object a hidden class of its own whose accessor held that request's closure (and
 * through it req and res); V8's scavenges keep such classes alive, so every request's objects outlived two
 * scavenges and were promoted: 8–16 MB promoted per scavenge under load, 13–20 ms pauses, a 64 MB young
 * generation (`--trace-gc-nvp`, bench/voice-token.ts load). The same holds for a getter defined per request.
 */
export class TrackedRequest {
  readonly id: string;
  private readonly parent: Logger;
  private child: Logger | undefined;

  constructor(id: string, parent: Logger) {
    this.id = id;
    this.parent = parent;
  }

  get log(): Logger {
    return (this.child ??= this.parent.child({ reqId: this.id }));
  }
}

/**
 * Reuse a sane incoming X-Request-Id (a proxy's), else make one; echo it back; log the outcome once (debug for a
 * success, info for a 4xx, error for a 5xx), the path cut to LOGGED_TEXT_MAX. Returns the request id and its logger.
 */
export function trackRequest(log: Logger, req: IncomingMessage, res: ServerResponse): TrackedRequest {
  const incoming = req.headers["x-request-id"];
  const tracked = new TrackedRequest(typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID(), log);
  res.setHeader("X-Request-Id", tracked.id);
  const started = process.hrtime.bigint();
  const path = requestPath(req);
  res.on("finish", () => {
    const level = res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "info" : "debug";
    if (!log.isLevelEnabled(level)) return;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // The path is the client's text, and node's parser takes one as long as its header limit (16 KB); the method
    // is one node knows, the request id one we checked or made. The user agent and the query are not logged.
    const line: Record<string, unknown> = { method: req.method, path: loggedText(path), status: res.statusCode, ms: Math.round(ms * 10) / 10 };
    if (res.statusCode === 401) line.reason = refusals.get(res) ?? "unauthenticated";
    tracked.log[level](line, "request");
  });
  return tracked;
}

/** Why each response that is a 401 refused (noteRefusal), for its log line; gone with the response. */
const refusals = new WeakMap<ServerResponse, string>();

/**
 * Record why this response refuses its caller, for the request's log line (`reason`): the ApiError's `refusal`
 * (`bad_signature`, `expired`, `no_token`… where core/jwt.ts and the edges judged the token), else its GoTrue
 * reason, else `unauthenticated`. Never the token.
 */
export function noteRefusal(res: ServerResponse, error: ApiError): void {
  refusals.set(res, error.refusal ?? error.reason ?? "unauthenticated");
}

const TRACKED = Symbol("nexus.trackedRequest");

/** req.log for Express handlers: one getter for every request (see TrackedRequest), reading the request's own. */
function trackedLog(this: Request & { [TRACKED]?: TrackedRequest }): Logger | undefined {
  return this[TRACKED]?.log;
}

/** trackRequest as Express middleware: req.id and req.log for the handlers. */
export function requestLogger(log: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const tracked = trackRequest(log, req, res);
    req.id = tracked.id;
    (req as Request & { [TRACKED]?: TrackedRequest })[TRACKED] = tracked;
    Object.defineProperty(req, "log", { get: trackedLog, configurable: true });
    next();
  };
}

/** What every route answered before Express shares (server/rest/route.ts, server/graphql/edge.ts). */
export interface EdgeHttp {
  log: Logger;
  metrics: { track(method: string | undefined, res: ServerResponse, route: string): void };
  securityHeaders(res: ServerResponse): void;
  origins: ReadonlySet<string>;
  /** What a CORS preflight is told this edge answers (CORS_METHODS). */
  methods: string;
}

/**
 * What a request answered before Express gets first, as Express's middleware gave it: its request id and log line,
 * the latency histogram under `route`, helmet's headers, CORS. Returns the tracked request, or undefined for a
 * CORS preflight, which it has answered.
 */
export function startEdgeRequest(edge: EdgeHttp, req: IncomingMessage, res: ServerResponse, route: string): TrackedRequest | undefined {
  const tracked = trackRequest(edge.log, req, res);
  edge.metrics.track(req.method, res, route);
  edge.securityHeaders(res);
  return applyCors(edge.origins, edge.methods, req, res) ? undefined : tracked;
}

/**
 * Security headers: helmet's, with the CSP set per page (Ruru at /graphiql and the /ops page load their own inline
 * scripts), and `Cache-Control: no-store`. Helmet's headers do not depend on the request, so helmet runs once,
 * here, and each response gets the headers it set in one step: helmet's chain of twelve middlewares on every
 * request cost a voice token about 25 µs of server CPU (A/B on this machine).
 */
export function recordSecurityHeaders(): (res: ServerResponse) => void {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => void set.push([name, value]),
    removeHeader: (name: string) => void removed.push(name),
  };
  helmet(HELMET_OPTIONS)({} as Request, recorder as unknown as Response, () => {});
  // API answers carry sessions, tokens and members' data: no cache on the way may keep them. A route whose answer
  // is public sets its own Cache-Control after this (the VAPID public key, the /ops page).
  set.push(["Cache-Control", "no-store"]);
  return (res) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
  };
}

export const HELMET_OPTIONS = { contentSecurityPolicy: false, crossOriginEmbedderPolicy: false } as const;

// Headers a Supabase-era frontend sends: supabase-js adds apikey and x-client-info everywhere, auth-js
// x-supabase-api-version, postgrest-js x-retry-count on retries, functions-js x-region when a region is chosen.
const ALLOWED_HEADERS = "authorization, content-type, apikey, x-client-info, x-supabase-api-version, x-retry-count, x-region, x-request-id";
/**
 * The methods a preflight may be answered for, per edge: only those its routes answer, so a browser is told no
 * more than the server does (supabase-js's GET and PUT for /auth/v1/user; GraphQL over HTTP is POST only).
 */
export const CORS_METHODS = {
  rest: "POST, OPTIONS",
  graphql: "POST, OPTIONS",
  auth: "GET, POST, PUT, OPTIONS",
  get: "GET, OPTIONS",
} as const;

/**
 * CORS for the listed origins only; a preflight from any other origin gets no CORS headers (the browser blocks it).
 * Returns whether the request was a preflight, which it has answered (204).
 */
export function applyCors(allowed: ReadonlySet<string>, methods: string, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  const vary = res.getHeader("Vary");
  res.setHeader("Vary", vary === undefined || vary === "" ? "Origin" : `${Array.isArray(vary) ? vary.join(", ") : vary}, Origin`);
  const ok = typeof origin === "string" && allowed.has(origin);
  if (ok) {
    res.setHeader("Access-Control-Allow-Origin", origin);
    // auth-js reads X-Supabase-Api-Version to find GoTrue's error code in the body.
    res.setHeader("Access-Control-Expose-Headers", "Retry-After, X-Request-Id, X-Supabase-Api-Version");
  }
  if (req.method !== "OPTIONS") return false;
  if (ok) {
    res.setHeader("Access-Control-Allow-Methods", methods);
    res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS);
    res.setHeader("Access-Control-Max-Age", "600");
  }
  res.statusCode = 204;
  res.end();
  return true;
}

/** applyCors as Express middleware. */
export function cors(origins: string[], methods: string): RequestHandler {
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction) => {
    if (!applyCors(allowed, methods, req, res)) next();
  };
}

/** A JSON answer as Express's res.json writes it (content type with charset, length). */
export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/** The API's error answer: `{ error, message }`, its status, Retry-After for RATE_LIMITED, Allow for a 405. */
export function writeError(res: ServerResponse, error: ApiError): void {
  if (error.status === 401) noteRefusal(res, error);
  if (error.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(Math.ceil(error.retryAfterSeconds)));
  if (error.code === "METHOD_NOT_ALLOWED") res.setHeader("Allow", "POST, OPTIONS");
  writeJson(res, error.status, { error: error.code, message: error.message });
}

/** writeError for Express routes outside /functions/v1. */
export function sendError(res: Response, error: ApiError): void {
  writeError(res, error);
}

/** A request body refused (too large, compressed, not JSON): 400, and the connection closed if it had not all arrived. */
export class BodyError extends Error {}

/**
 * The client's connection ended before its body had all arrived: it went away, or was cut for taking longer than
 * REQUEST_TIMEOUT_MS. Nobody is left to answer, and it is no fault of the server's: logged at debug, not as an
 * error (answeredBodyFailure below).
 */
export class ClientGoneError extends Error {}

/**
 * After an answer sent before its request's body had all arrived: `Connection: close`, and a lingering close, so
 * a client cannot make the server read a body to its end (4 GiB sent to a 64 KiB route used to be read in full
 * before the 400; a 401, 404 or 405 let node read the rest, of any size, to keep the connection), and a client
 * still sending gets its answer rather than a reset.
 *
 * Reading stops as the headers go out (what arrives fills the kernel's buffers, then the client's sends block: no
 * CPU spent on it). Node's HTTP server ends a `Connection: close` socket with destroySoon() once the answer is
 * flushed: a FIN, then close() at once, which with unread bytes in the kernel sends a reset; a client busy sending
 * (a loaded machine, a slow reader) then fails its next write with ECONNRESET and never reads the 400 waiting for
 * it. Here destroySoon() sends the FIN and destroys the socket `lingerMs` later; an answer that is never flushed
 * (queued behind answers the client does not read) has the socket destroyed ANSWER_GRACE_MS after its headers.
 * Without the handle's readStop (a node internal, there since 0.x) the server reads and discards until then:
 * still bounded in time.
 */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse, lingerMs = 500): void {
  res.shouldKeepAlive = false;
  const socket = req.socket as IncomingMessage["socket"] & { _handle?: { readStop?: () => number } | null };
  // Nothing more is read from now on: this answer is the connection's last. (Reading on until it was flushed let
  // a client that does not read the answers queued before it keep the server reading a body at full speed.)
  socket._handle?.readStop?.();
  // And the connection goes within ANSWER_GRACE_MS even if the answer can never be flushed.
  setTimeout(() => socket.destroy(), ANSWER_GRACE_MS).unref();
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    setTimeout(() => socket.destroy(), lingerMs).unref();
  };
}

/** How long a connection closing after an early answer may wait for that answer to be flushed. */
const ANSWER_GRACE_MS = 5000;

/** A declared body up to this size is left for node to read (bounded), so the connection is kept. */
const SMALL_BODY = 64 * 1024;

/**
 * Whether a request has a body that has not all arrived and may be of any size: a chunked one, or one declared
 * larger than SMALL_BODY. Not `!req.complete` alone: node calls the request listener before it marks even a
 * bodiless request complete, so an answer written at once (/healthz through Express) would close a keep-alive
 * connection that has nothing left to read; and a small declared body (a retried request with an expired JWT)
 * node reads to its end, bounded, keeping the connection.
 */
function bodyStillArriving(req: IncomingMessage): boolean {
  if (req.complete) return false;
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > SMALL_BODY;
}

/**
 * Every response's writeHead (the server's request listener sets it on each one; node's own end() and Express's
 * send() go through it): an answer whose headers go out before its request's body has all arrived closes the
 * connection after it (closeAfterAnswer), whatever answered: a refused body, grafserv's 413, a 401 before the
 * body was read, Express's 404. A request read to its end keeps its connection. A shared function, not a
 * closure: one property store per request on the token path.
 */
export function writeHeadClosingEarly(this: ServerResponse, ...args: unknown[]): ServerResponse {
  if (bodyStillArriving(this.req)) closeAfterAnswer(this.req, this);
  return (ServerResponse.prototype.writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
}

/**
 * `Expect: 100-continue`: the 100 goes out when the handler first reads the body, not when the headers arrive (node's
 * default, which invited a body of any declared size before anything looked at it). A request refused before its
 * body is read (declared larger than the route takes, a bad JWT, an unknown path) gets its final answer at once;
 * the client, still waiting for a 100, sends nothing, and the connection closes after that answer (the client
 * decides whether it would have sent the body anyway, so nothing is left that could be read to reuse it). Set by
 * the server's `checkContinue` listener (server/app.ts) before the request listener runs; a request without the
 * header never comes here.
 */
export function continueWhenRead(req: IncomingMessage, res: ServerResponse): void {
  let asked = false;
  req._read = function (this: IncomingMessage, size: number) {
    if (!asked) {
      asked = true;
      // Never after the final answer: node's own _dump() reads a body left unread once the response is done.
      if (!res.headersSent) res.writeContinue();
    }
    return IncomingMessage.prototype._read.call(this, size);
  };
  res.writeHead = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    if (!asked) closeAfterAnswer(req, this);
    return writeHeadClosingEarly.apply(this, args);
  };
}

/** The answer to a refused body: 400 BAD_REQUEST (writeHeadClosingEarly closes the connection if bytes may still be arriving). */
export function refuseBody(res: ServerResponse, error: BodyError): void {
  writeError(res, new ApiError("BAD_REQUEST", error.message));
}

/** "a string", "an object": zod's name of a type with its article. */
function aType(expected: string): string {
  return `${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`;
}

/** One zod issue of a request body in plain words: `auth is required (a string)`, `action must be one of …`. */
function describeBodyIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.join(".");
  if (!field && issue.code === "invalid_type") return "the body must be a JSON object";
  // "at least 2 characters", "at most 1 item": the unit of a length, singular for one; none for a number.
  const unit = (origin: string, bound: unknown) =>
    origin === "string" ? (Number(bound) === 1 ? " character" : " characters") : origin === "array" ? (Number(bound) === 1 ? " item" : " items") : "";
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? `${field} is required (${aType(issue.expected)})` : `${field} must be ${aType(issue.expected)}`;
    case "too_small":
      if ((issue.origin === "string" || issue.origin === "array") && Number(issue.minimum) === 1) return `${field} must not be empty`;
      return `${field} must be ${issue.inclusive === false ? "more than" : "at least"} ${issue.minimum}${unit(issue.origin, issue.minimum)}`;
    case "too_big":
      return `${field} must be ${issue.inclusive === false ? "less than" : "at most"} ${issue.maximum}${unit(issue.origin, issue.maximum)}`;
    case "invalid_format":
      if (issue.format === "regex") return `${field} is not in the expected form`;
      return `${field} must be ${issue.format === "uuid" ? "a UUID" : `a valid ${issue.format}`}`;
    case "invalid_value":
      return `${field} must be one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    default:
      return field ? `${field}: ${issue.message}` : issue.message;
  }
}

/** A request body checked against its zod schema: the parsed value, or BAD_REQUEST naming the first problem. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  // reportInput: an issue carries the value it is about, so a missing field (undefined) reads as "is required".
  // No body at all is an empty object; a JSON null is a body that is not an object.
  const parsed = schema.safeParse(body === undefined ? {} : body, { reportInput: true });
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeBodyIssue(parsed.error.issues[0]!));
  return parsed.data;
}

/**
 * What readRawBody's failures get, for its callers' catch: a refused body its 400 (`refuse`: refuseBody's, or a
 * route's own error shape), a client gone before its body arrived one debug line and no answer (nobody is left to
 * read it). True when `error` was one of those, and so answered.
 */
export function answeredBodyFailure(
  res: ServerResponse,
  error: unknown,
  log: Logger | undefined,
  refuse: (res: ServerResponse, error: BodyError) => void = refuseBody,
): boolean {
  if (error instanceof BodyError) refuse(res, error);
  else if (error instanceof ClientGoneError) log?.debug({ reason: error.message }, "client went away before its request body arrived");
  else return false;
  return true;
}

/**
 * The raw body, at most `limit` bytes: BodyError as soon as it is larger, without reading on. A compressed
 * body (any Content-Encoding but identity) is refused the same way, unread. ClientGoneError when the connection
 * ends before the body does.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const coding = req.headers["content-encoding"];
    if (coding !== undefined && coding.toLowerCase() !== "identity") return reject(new BodyError(`unsupported content encoding "${coding}"`));
    const most = limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit / 1024} KiB`;
    const tooLarge = () => new BodyError(`body larger than ${most}`);
    if (Number(req.headers["content-length"]) > limit) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off("data", onData);
      req.off("end", onEnd);
      reject(tooLarge());
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    req.on("data", onData);
    req.on("end", onEnd);
    // The request stream fails only from the client's side of the connection: node destroys it with "aborted"
    // (ECONNRESET) when the connection ends before the body does.
    req.on("error", (error) => reject(new ClientGoneError(error.message)));
  });
}

/**
 * How to decode the body, from the Content-Type's charset (UTF-8 when none), as body-parser did: UTF-8 or UTF-16;
 * anything else is refused.
 */
function charsetOf(contentType: string | undefined): BufferEncoding {
  const charset = contentType ? /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase() : undefined;
  if (charset === undefined || charset === "utf-8" || charset === "utf8") return "utf8";
  if (charset === "utf-16" || charset === "utf-16le") return "utf16le";
  throw new BodyError(`unsupported charset "${charset.toUpperCase()}"`);
}

/**
 * A request's JSON object body, at most `limit` bytes, whatever its Content-Type (/functions/v1 and /auth/v1): {}
 * for none or an empty one; BodyError for one too large, compressed, in another charset, not JSON, or JSON that is
 * not an object; ClientGoneError when the client goes first. Read only for requests that send a body, as Express's
 * body parser did.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) return {};
  const encoding = charsetOf(req.headers["content-type"]);
  const text = (await readRawBody(req, limit)).toString(encoding);
  if (text.trimStart() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BodyError("body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new BodyError("the body must be a JSON object");
  return body;
}

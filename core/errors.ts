/**
 * The one mapping from a failure to the API's stable error codes, used by GraphQL (extensions.code) and by the
 * REST routes ({ error, message } with a status). SQL raises `NX4xx` SQLSTATEs with the code as the message
 * (db/functions/00_errors.sql); a few standard SQLSTATEs are mapped here so constraint failures read as 400/409.
 */
export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHENTICATED"
  | "INSUFFICIENT_CLEARANCE"
  | "NOT_FOUND"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "QUERY_TOO_COMPLEX"
  | "TIMEOUT"
  | "METHOD_NOT_ALLOWED"
  | "LIVEKIT_NOT_CONFIGURED"
  | "PUSH_NOT_CONFIGURED"
  | "UNAVAILABLE"
  | "INTERNAL";

export const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  INSUFFICIENT_CLEARANCE: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  QUERY_TOO_COMPLEX: 400,
  TIMEOUT: 503,
  METHOD_NOT_ALLOWED: 405,
  LIVEKIT_NOT_CONFIGURED: 503,
  PUSH_NOT_CONFIGURED: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** An error whose code and message are safe to show a caller. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  /**
   * A finer reason SQL gave with the code (HINT `reason=<word>`, e.g. weak_password, user_already_exists,
   * refresh_token_already_used); the /auth/v1 routes send it as GoTrue's error_code.
   */
  readonly reason: string | undefined;
  /**
   * Why a 401 was answered, for the request's log line only (never sent): `bad_signature`, `expired`, `no_token`…
   * (server/http.ts noteRefusal). Set where the token is judged (core/jwt.ts, the edges, the webhook shim).
   */
  readonly refusal: string | undefined;
  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number; reason?: string; refusal?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.reason = options.reason;
    this.refusal = options.refusal;
  }
}

const SQLSTATE_CODES: Record<string, ErrorCode> = {
  NX400: "BAD_REQUEST",
  NX401: "UNAUTHENTICATED",
  NX403: "INSUFFICIENT_CLEARANCE",
  NX404: "NOT_FOUND",
  NX409: "CONFLICT",
  NX429: "RATE_LIMITED",
  "23505": "CONFLICT", // unique_violation
  "23503": "BAD_REQUEST", // foreign_key_violation
  "23001": "BAD_REQUEST", // restrict_violation: what PostgreSQL 18+ reports for an ON DELETE RESTRICT key (before: 23503)
  "23502": "BAD_REQUEST", // not_null_violation
  "23514": "BAD_REQUEST", // check_violation
  "22P02": "BAD_REQUEST", // invalid_text_representation (bad uuid, bad enum)
  "2201X": "BAD_REQUEST", // invalid_row_count_in_result_offset_clause (a negative offset)
  "2201W": "BAD_REQUEST", // invalid_row_count_in_limit_clause (a negative first)
  "22001": "BAD_REQUEST", // string_data_right_truncation
  "22003": "BAD_REQUEST", // numeric_value_out_of_range
  "22023": "BAD_REQUEST", // invalid_parameter_value
  // Values a client sent that Postgres cannot hold or read: a NUL byte in text, characters the encoding lacks,
  // malformed dates, regular expressions or escapes, JSON it cannot process.
  "22021": "BAD_REQUEST", // character_not_in_repertoire (e.g. U+0000 in a string)
  "22P05": "BAD_REQUEST", // untranslatable_character
  "22007": "BAD_REQUEST", // invalid_datetime_format
  "22008": "BAD_REQUEST", // datetime_field_overflow
  "22004": "BAD_REQUEST", // null_value_not_allowed
  "22019": "BAD_REQUEST", // invalid_escape_character
  "22025": "BAD_REQUEST", // invalid_escape_sequence
  "2201B": "BAD_REQUEST", // invalid_regular_expression
  "2202E": "BAD_REQUEST", // array_subscript_error
  "22030": "BAD_REQUEST", // duplicate_json_object_key_value
  "22032": "BAD_REQUEST", // invalid_json_text
  "54000": "BAD_REQUEST", // program_limit_exceeded (e.g. a value nested or sized past Postgres' limits)
  "57014": "TIMEOUT", // query_canceled: statement_timeout (STATEMENT_TIMEOUT_MS) ended the statement
  "42501": "INSUFFICIENT_CLEARANCE", // insufficient_privilege, incl. RLS refusals
};

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  BAD_REQUEST: "the request is not valid",
  UNAUTHENTICATED: "sign in first",
  INSUFFICIENT_CLEARANCE: "your rank does not allow this",
  NOT_FOUND: "not found",
  CONFLICT: "this conflicts with the current state",
  RATE_LIMITED: "too many requests; try again later",
  QUERY_TOO_COMPLEX: "the query is too complex",
  TIMEOUT: "the request took too long and was stopped; simplify it or try again later",
  METHOD_NOT_ALLOWED: "this route only answers POST",
  LIVEKIT_NOT_CONFIGURED: "LiveKit is not configured",
  PUSH_NOT_CONFIGURED: "Web Push is not configured",
  UNAVAILABLE: "the database is unavailable; try again shortly",
  INTERNAL: "internal error",
};

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  constraint?: string;
}

/**
 * A CHECK constraint refusing a value (23514) names the rule, not the value: "squads_description_length" tells a
 * client which field and what kind of rule. Postgres' DETAIL (the whole failing row) is never shown.
 */
function messageOf(e: PgLikeError, code: ErrorCode): string {
  if (e.code?.startsWith("NX")) return e.detail || DEFAULT_MESSAGES[code];
  if (e.code === "23514" && e.constraint && /^[a-z][a-z0-9_]{0,62}$/.test(e.constraint)) {
    return `${DEFAULT_MESSAGES[code]}: a value breaks the check ${e.constraint}`;
  }
  return DEFAULT_MESSAGES[code];
}

/** SQL refusing with RATE_LIMITED puts the seconds to wait in the HINT: `retry_after=NN` (db/functions/80_rate_limits.sql). */
function retryAfterOf(error: PgLikeError): number | undefined {
  const match = /(?:^|\s|;)retry_after=(\d{1,9})(?:$|\s|;)/.exec(error.hint ?? "");
  return match ? Math.max(1, Number(match[1])) : undefined;
}

/** SQL may name a finer reason in the HINT: `reason=<word>` (db/functions/00_errors.sql). */
function reasonOf(error: PgLikeError): string | undefined {
  return /(?:^|\s|;)reason=([a-z_]{1,64})(?:$|\s|;)/.exec(error.hint ?? "")?.[1];
}

function isConnectionFailure(error: PgLikeError): boolean {
  const code = error.code ?? "";
  return (
    code.startsWith("08") || // connection_exception
    code === "57P01" || // admin_shutdown
    code === "57P03" || // cannot_connect_now
    code === "53300" || // too_many_connections
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE"].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(error.message ?? "")
  );
}

/** Classify any thrown value. Unknown failures become INTERNAL with a generic message (details go to the log). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = (error ?? {}) as PgLikeError & { cause?: unknown };
  const code = e.code ? SQLSTATE_CODES[e.code] : undefined;
  if (code) {
    const message = messageOf(e, code);
    const retryAfterSeconds = code === "RATE_LIMITED" ? retryAfterOf(e) : undefined;
    const reason = e.code?.startsWith("NX") ? reasonOf(e) : undefined;
    return new ApiError(code, message, { cause: error, retryAfterSeconds, reason });
  }
  if (isConnectionFailure(e)) return new ApiError("UNAVAILABLE", DEFAULT_MESSAGES.UNAVAILABLE, { cause: error });
  if (e.cause && e.cause !== error) {
    const inner = toApiError(e.cause);
    if (inner.code !== "INTERNAL") return inner;
  }
  return new ApiError("INTERNAL", DEFAULT_MESSAGES.INTERNAL, { cause: error });
}

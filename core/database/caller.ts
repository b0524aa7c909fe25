/**
 * One round trip to Postgres as the caller, for the hot paths (voice tokens).
 *
 * PostGraphile's withPgClient (and so every REST route's ctx.withClient) runs `begin`, a `set_config` of the
 * request's pgSettings, the queries, then `commit`: four round trips, each a socket write and a wake-up on both
 * sides, and each a statement Postgres has to run. Here the same pgSettings and the caller's statements go out in
 * one write, pipelined in the extended protocol with a single Sync at the end:
 *
 *   Bind/Execute  select set_config($1, $2, true), set_config($3, $4, true), …   -- role, request.jwt.claims, …
 *   Bind/Describe/Execute  <statement 1>                                 -- e.g. a rate limit
 *   Bind/Describe/Execute  <statement 2>                                 -- e.g. public.issue_voice_grants($1)
 *   Sync
 *
 * Postgres runs everything before a Sync as one implicit transaction, so this is `begin … commit` without the two
 * extra statements: the role switch applies to the statements that follow (EXECUTE privileges, RLS), the claims
 * are what auth.uid() reads, and both end with the transaction. If any statement fails, Postgres skips the rest
 * up to the Sync and rolls the whole batch back, so nothing runs without the caller's settings. Statements are
 * named and parsed once per connection. Needs node-postgres' JavaScript client (not pg-native).
 */
import pg from "pg";

/** A named statement: parsed once per connection, then only bound and executed. */
export interface CallerStatement {
  name: string;
  text: string;
  values: readonly unknown[];
}

export interface CallerResult<R = Record<string, unknown>> {
  rows: R[];
  rowCount: number | null;
}

type PgSettings = Record<string, string | null | undefined> | null | undefined;

/**
 * Statements already bound to one caller (an AsCaller with the request's pgSettings): what route handlers and
 * GraphQL steps are given.
 */
export type RunAsCaller = (statements: readonly CallerStatement[]) => Promise<CallerResult<any>[]>;

/** Run statements as the caller (pgSettings as local settings), in one transaction and one round trip. */
export type AsCaller = (pgSettings: PgSettings, statements: readonly CallerStatement[]) => Promise<CallerResult<any>[]>;

const SETTINGS_PREFIX = "nexus_caller_settings_";
const settingsStatements = new Map<number, { name: string; text: string }>();

/** `select set_config($1, $2, true), …` for n settings (names and values both parameters): one named statement per n. */
function settingsStatement(pgSettings: PgSettings): CallerStatement {
  const values: string[] = [];
  for (const name in pgSettings) {
    const value = pgSettings[name];
    if (value == null) continue;
    values.push(name, String(value));
  }
  const count = values.length / 2;
  let statement = settingsStatements.get(count);
  if (!statement) {
    const calls = Array.from({ length: count }, (_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
    statement = { name: `${SETTINGS_PREFIX}${count}`, text: `select ${calls.join(", ") || "1"}` };
    settingsStatements.set(count, statement);
  }
  return { ...statement, values };
}

/**
 * The node-postgres this was written against and tested with. It uses parts that pg's type definitions leave out
 * (pg/lib/result.js, utils.prepareValue, the Connection's message writers, the Submittable's message handlers,
 * and through them pg-protocol's serializer and parser), so package.json pins `pg` to exactly this version and
 * test/foundation/caller.test.ts fails when the installed pg or pg-protocol is another one: re-read those files
 * and run that test before moving the pin.
 */
export const NODE_POSTGRES_VERIFIED = { pg: "8.23.1", "pg-protocol": "1.16.1" } as const;

interface WireConnection {
  stream: { cork(): void; uncork(): void };
  parse(config: { name: string; text: string }): void;
  bind(config: { statement: string; values: unknown[] }): void;
  describe(config: { type: "P"; name: string }): void;
  execute(config: Record<string, never>): void;
  close(config: { type: "S"; name: string }): void;
  sync(): void;
  /** Our own bookkeeping, per connection: statements known to be prepared, or possibly prepared (after an error). */
  nexusPrepared?: Map<string, "ready" | "uncertain">;
}
interface ResultBuilder extends CallerResult {
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
  addCommandComplete(message: unknown): void;
}
const Result = (pg as unknown as { Result: new (rowMode?: string, types?: unknown) => ResultBuilder }).Result;
const prepareValue = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils.prepareValue;

/**
 * A pg Submittable (the interface pg-cursor uses): client.query(batch) queues it like any query, the client hands
 * it each backend message until ReadyForQuery.
 */
class CallerBatch {
  readonly done: Promise<CallerResult[]>;
  private readonly statements: CallerStatement[];
  private readonly results: ResultBuilder[] = [];
  private readonly types: unknown;
  /** Index of the statement whose messages are arriving. */
  private current = 0;
  private rowError: unknown = undefined;
  private resolve!: (results: CallerResult[]) => void;
  private reject!: (error: unknown) => void;
  private connection: WireConnection | undefined;

  constructor(statements: CallerStatement[], types: unknown) {
    this.statements = statements;
    this.types = types;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Writes the whole batch in one go; returns an error instead, before writing anything, for a bad value. */
  submit(connection: WireConnection): Error | null {
    let values: unknown[][];
    try {
      values = this.statements.map((statement) => statement.values.map(prepareValue));
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    this.connection = connection;
    const prepared = (connection.nexusPrepared ??= new Map());
    connection.stream.cork();
    try {
      for (const [i, statement] of this.statements.entries()) {
        const state = prepared.get(statement.name);
        if (state !== "ready") {
          // After a failed batch we cannot tell which Parse messages ran; closing a statement that does not exist
          // is not an error, so close and parse again.
          if (state === "uncertain") connection.close({ type: "S", name: statement.name });
          connection.parse({ name: statement.name, text: statement.text });
          prepared.set(statement.name, "uncertain");
        }
        connection.bind({ statement: statement.name, values: values[i]! });
        // The settings statement's rows (the values it set) are not wanted: no Describe, rows skipped.
        if (i > 0) connection.describe({ type: "P", name: "" });
        connection.execute({});
        this.results.push(new Result(undefined, this.types));
      }
      connection.sync();
    } finally {
      connection.stream.uncork();
    }
    return null;
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    this.results[this.current]!.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }): void {
    if (this.current === 0 || this.rowError !== undefined) return;
    const result = this.results[this.current]!;
    try {
      result.addRow(result.parseRow(message.fields));
    } catch (error) {
      this.rowError = error;
    }
  }

  handleCommandComplete(message: unknown): void {
    this.results[this.current]!.addCommandComplete(message);
    this.current++;
  }

  handleEmptyQuery(): void {
    this.current++;
  }

  handleError(error: unknown): void {
    this.reject(error);
  }

  handleReadyForQuery(): void {
    if (this.rowError !== undefined) return this.reject(this.rowError);
    const prepared = this.connection!.nexusPrepared!;
    for (const statement of this.statements) prepared.set(statement.name, "ready");
    this.resolve(this.results.slice(1).map(({ rows, rowCount }) => ({ rows, rowCount })));
  }

  // Not expected from these statements; present because the client may call them on any active query.
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/**
 * Statements are prepared once per connection and known by name from then on, so Postgres saying one is missing
 * (26000) or already there (42P05) means the connection is not the one it was: something between the server and
 * Postgres hands each transaction another backend (a transaction-mode pooler), or a statement ran DEALLOCATE. The
 * batch fails with a sentence naming the likely cause, and the connection is dropped (its bookkeeping is wrong).
 */
const STATEMENTS_LOST = new Set(["26000", "42P05"]);

/** An AsCaller over the given pool (the same pool, roles and pgSettings as PostGraphile's withPgClient). */
export function makeAsCaller(pool: pg.Pool): AsCaller {
  return async (pgSettings, statements) => {
    for (const statement of statements) {
      if (statement.name.startsWith(SETTINGS_PREFIX)) throw new Error(`statement names starting ${SETTINGS_PREFIX} are reserved`);
    }
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      // Never inside someone else's open transaction: the settings would outlive this batch.
      const status = client.getTransactionStatus?.();
      if (status != null && status !== "I") {
        broken = new Error(`pooled connection is in transaction state ${status}`);
        throw broken;
      }
      const batch = new CallerBatch([settingsStatement(pgSettings), ...statements], (client as unknown as { _types?: unknown })._types);
      client.query(batch as unknown as pg.Submittable);
      return await batch.done.catch((error: { code?: unknown }) => {
        if (!STATEMENTS_LOST.has(error?.code as string)) throw error;
        broken = new Error(
          "the database connection lost track of its prepared statements: is a transaction-mode pooler " +
            "(PgBouncer pool_mode=transaction, Supabase's port 6543) between this server and Postgres? Connect directly or in session mode (docs/scaling.md)",
          { cause: error },
        );
        throw broken;
      });
    } finally {
      client.release(broken);
    }
  };
}

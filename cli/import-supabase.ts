/**
 * `npm run nexus -- import supabase --from <postgres URL> [--dry-run]`: bring an old NomadNexus Supabase database
 * over. This file only reads the old tables (read-only, with a deadline) and prints; what each old row becomes is
 * decided in SQL (nexus_private.import_supabase_rows, db/functions/90_supabase_import.sql), which also records
 * every row so a second run changes nothing. `--dry-run` runs exactly the same and rolls it back.
 */
import pg from "pg";
import { commandClient } from "../core/command.ts";
import { OneLineError } from "../core/fatal.ts";
import { assertDatabaseReachable } from "../core/database/resolve.ts";
import { redactUrl } from "./doctor.ts";

/** Old tables, in the order their references need (users before profiles before everything that names a member). */
export const OLD_TABLES = [
  "auth.users",
  "public.profiles",
  "public.squads",
  "public.squad_members",
  "public.voice_nets",
  "public.voice_net_bridges",
  "public.push_subscriptions",
  "public.skills",
  "public.mentor_certifications",
] as const;

const CHUNK = 500;
const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 120_000;

interface RowOutcome {
  source_key: string;
  action: "insert" | "unchanged" | "changed" | "exists" | "kept";
  local_id: string;
  unmapped: string[];
  note: string | null;
}

export interface ImportOptions {
  from: string;
  dryRun: boolean;
  /** Runs fn in one transaction as the service role on this deployment's database (the CLI's asService). */
  asService<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
}

async function readOldTables(from: string): Promise<Map<string, unknown[]>> {
  // Unreachable, a refused login or no such database: one line naming the host, as the server says it at start-up.
  await assertDatabaseReachable(from, "--from");
  const old = commandClient({
    connectionString: from,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 5_000,
  });
  await old.connect();
  const tables = new Map<string, unknown[]>();
  try {
    // Read-only, and one consistent snapshot of every table.
    await old.query("begin isolation level repeatable read read only");
    for (const table of OLD_TABLES) {
      const { rows: present } = await old.query<{ regclass: string | null }>("select to_regclass($1)::text as regclass", [table]);
      if (!present[0]?.regclass) continue;
      const { rows } = await old.query<{ row: unknown }>(`select to_jsonb(t) as row from ${table} t`);
      tables.set(table, rows.map((r) => r.row));
    }
    await old.query("commit");
  } finally {
    await old.end();
  }
  return tables;
}

export async function importSupabase({ from, dryRun, asService }: ImportOptions): Promise<string> {
  const tables = await readOldTables(from);
  // Without its members there is nothing to bring over: most likely --from names the wrong database.
  if (!tables.has("auth.users") && !tables.has("public.profiles")) {
    throw new OneLineError(`${redactUrl(from)} has neither auth.users nor public.profiles: not an old NomadNexus Supabase database (check --from)`);
  }
  const lines: string[] = [
    `import supabase from ${redactUrl(from)}${dryRun ? " (dry run: nothing is written)" : ""}`,
  ];
  const kept: string[] = [];
  const changed: string[] = [];
  await asService(async (client) => {
    await client.query("savepoint nexus_import");
    for (const table of OLD_TABLES) {
      const rows = tables.get(table);
      if (!rows) {
        lines.push(`${table.padEnd(30)} not in the old database`);
        continue;
      }
      const counts = new Map<string, number>();
      const unmapped = new Set<string>();
      for (let i = 0; i < rows.length; i += CHUNK) {
        const { rows: outcomes } = await client.query<RowOutcome>(
          "select source_key, action, local_id, unmapped, note from nexus_private.import_supabase_rows($1, $2::jsonb)",
          [table, JSON.stringify(rows.slice(i, i + CHUNK))],
        );
        for (const o of outcomes) {
          counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
          for (const column of o.unmapped) unmapped.add(column);
          if (o.action === "kept") kept.push(`  ${table} ${o.source_key}: ${o.note}`);
          else if (o.action === "changed") changed.push(`  ${table} ${o.source_key}: ${o.note}`);
          else if (o.note) lines.push(`  ${table} ${o.source_key}: ${o.note}`);
        }
      }
      const summary = [...counts].map(([action, n]) => `${n} ${dryRun ? `would ${action}` : action}`).join(", ") || "empty";
      lines.push(`${table.padEnd(30)} ${String(rows.length).padStart(6)} rows: ${summary}`);
      if (unmapped.size) {
        lines.push(`${"".padEnd(30)} no column here (kept as jsonb in nexus_private.imported_rows): ${[...unmapped].sort().join(", ")}`);
      }
    }
    if (dryRun) await client.query("rollback to savepoint nexus_import");
  });
  if (kept.length) lines.push("not brought over (each old row is kept in nexus_private.imported_rows):", ...kept);
  if (changed.length) lines.push("changed in the old database since they were imported (left as they are here):", ...changed);
  return lines.join("\n") + "\n";
}

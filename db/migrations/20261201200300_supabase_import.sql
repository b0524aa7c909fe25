-- migrate:up
/*
 * Leaving Supabase (`npm run nexus -- import supabase --from <url>`): every row read from the old database is
 * remembered here with its whole old content, keyed by the old table and the old row's key. This is what makes
 * the import idempotent (a second run finds every row already mapped and changes nothing) and what keeps the
 * columns this schema has no place for (rsi_handle, discord_id, avatar_url, raw_user_meta_data, …): nothing from
 * the old database is silently dropped. `local_id` is the row it became here (same id where the ids carry over).
 */
create table nexus_private.imported_rows (
  source_table text not null,
  source_key text not null,
  local_table text not null,
  local_id text not null,
  old_row jsonb not null,
  imported_at timestamptz not null default now(),
  primary key (source_table, source_key)
);
create index imported_rows_local_idx on nexus_private.imported_rows (local_table, local_id);
comment on table nexus_private.imported_rows is 'Rows brought over from an old Supabase database: old key, new row, and the whole old row as jsonb.';
grant select on nexus_private.imported_rows to service_role;

-- migrate:down
drop table if exists nexus_private.imported_rows;

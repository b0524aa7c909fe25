-- migrate:up
/*
 * Who may use a voice net (DESIGN.md §3): join it (min_rank_to_join, and membership of linked_squad_id when that
 * is set, FOUNDER+ exempt), hear it (min_rank_to_rx, LiveKit canSubscribe) and speak on it (min_rank_to_tx,
 * LiveKit canPublish). Hearing or speaking never comes without joining, so both gates are at least the join gate.
 *
 * The defaults open a net to everyone: an operator's insert names the gates it wants (the runbook's SQL habit).
 * A squad that gates a net cannot be deleted while it does (restrict): dropping the squad would silently open
 * the net to every rank that passes the join gate.
 */
alter table public.voice_nets
  add column min_rank_to_join public.rank not null default 'VAGRANT',
  add column min_rank_to_rx public.rank not null default 'VAGRANT',
  add column min_rank_to_tx public.rank not null default 'VAGRANT',
  add column linked_squad_id uuid references public.squads (id) on delete restrict,
  add constraint voice_nets_rx_at_least_join check (min_rank_to_rx >= min_rank_to_join),
  add constraint voice_nets_tx_at_least_join check (min_rank_to_tx >= min_rank_to_join);
grant insert (min_rank_to_join, min_rank_to_rx, min_rank_to_tx, linked_squad_id),
  update (min_rank_to_join, min_rank_to_rx, min_rank_to_tx, linked_squad_id) on public.voice_nets to authenticated;
create index voice_nets_linked_squad_id_idx on public.voice_nets (linked_squad_id);
comment on column public.voice_nets.min_rank_to_join is 'Lowest rank that may join (connect to) this net.';
comment on column public.voice_nets.min_rank_to_rx is 'Lowest rank that may hear this net (LiveKit canSubscribe); at least min_rank_to_join.';
comment on column public.voice_nets.min_rank_to_tx is 'Lowest rank that may speak on this net (LiveKit canPublish); at least min_rank_to_join.';
comment on column public.voice_nets.linked_squad_id is 'When set, only members of this squad (and FOUNDER+) may join.';

-- migrate:down
-- Policies that read these columns (db/policies/voice_nets.sql) would block dropping them; the next migrate
-- re-creates them.
drop policy if exists voice_nets_select_joinable on public.voice_nets;
drop policy if exists voice_nets_insert_founders on public.voice_nets;
drop policy if exists voice_nets_update_founders on public.voice_nets;
alter table public.voice_nets
  drop constraint if exists voice_nets_tx_at_least_join,
  drop constraint if exists voice_nets_rx_at_least_join,
  drop column if exists linked_squad_id,
  drop column if exists min_rank_to_tx,
  drop column if exists min_rank_to_rx,
  drop column if exists min_rank_to_join;

-- migrate:up
/*
 * Net bridges: two voice nets patched together, so that a member on one also hears the other (a commander's
 * command net bridged to a wing's net). A bridge is symmetric: one row per unordered pair, whichever way it was
 * made. It never raises clearance: a member gets the bridged net only where their own rank (and squad) already
 * allow them to hear it, with their own rx/tx there. FOUNDER+ link and unlink (public.link_voice_nets /
 * public.unlink_voice_nets, audited).
 */
create table public.voice_net_bridges (
  id uuid primary key default gen_random_uuid(),
  source_net_id uuid not null references public.voice_nets (id) on delete cascade,
  target_net_id uuid not null references public.voice_nets (id) on delete cascade,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint voice_net_bridges_no_self_link check (source_net_id <> target_net_id)
);
alter table public.voice_net_bridges enable row level security;
-- One row per unordered pair: (a, b) and (b, a) are the same bridge.
create unique index voice_net_bridges_pair_key
  on public.voice_net_bridges (least(source_net_id, target_net_id), greatest(source_net_id, target_net_id));
create index voice_net_bridges_source_net_id_idx on public.voice_net_bridges (source_net_id);
create index voice_net_bridges_target_net_id_idx on public.voice_net_bridges (target_net_id);
create index voice_net_bridges_created_by_idx on public.voice_net_bridges (created_by);
comment on table public.voice_net_bridges is E'@behavior -insert -update -delete\nTwo voice nets patched together (symmetric). Made and removed through linkVoiceNets / unlinkVoiceNets.';

-- Members only read; bridges are made and removed through the security definer functions, which check rank,
-- refuse self-links and duplicates, and audit.
grant select on public.voice_net_bridges to authenticated;
grant select, insert, update, delete on public.voice_net_bridges to service_role;

-- migrate:down
-- These return the table's row type (db/functions/32_voice_net_bridges.sql), so they must go first.
drop function if exists public.link_voice_nets(uuid, uuid);
drop function if exists public.unlink_voice_nets(uuid, uuid);
drop table if exists public.voice_net_bridges;

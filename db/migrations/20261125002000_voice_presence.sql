-- migrate:up
/*
 * voice_presence: who is in which LiveKit room, mirrored from LiveKit's webhooks (participant_joined / _left,
 * room_finished). One row per participant session (LiveKit's participant sid in a room): opened by the join,
 * closed by the leave or by the room finishing. It is a mirror, not an authority: LiveKit decides who is
 * connected; the sweeps close rows whose events were lost.
 *
 * Events arrive at least once and out of order, so each row remembers the newest event time applied to it
 * (last_event_at) and rooms remember when they finished (nexus_private.room_finishes): an older event never
 * reopens a newer state.
 */
create table public.voice_presence (
  id uuid primary key default gen_random_uuid(),
  room_name text not null,
  net_id uuid references public.voice_nets (id) on delete set null,
  participant_identity text not null,
  participant_sid text not null,
  participant_name text,
  user_id uuid references public.profiles (id) on delete set null,
  participant_metadata jsonb not null default '{}',
  joined_at timestamptz not null,
  left_at timestamptz,
  left_reason text,
  last_event_at timestamptz not null default now(),
  constraint voice_presence_session_key unique (room_name, participant_sid),
  constraint voice_presence_left_after_joined check (left_at is null or left_at >= joined_at)
);
alter table public.voice_presence enable row level security;
-- Smart tags must open the comment for PostGraphile to read them.
comment on table public.voice_presence is E'@behavior -insert -update -delete\nWho is in which voice room, mirrored from LiveKit webhooks. Open rows (left_at is null) are the people on a net now.';
create index voice_presence_open_net_idx on public.voice_presence (net_id, joined_at) where left_at is null;
create index voice_presence_open_room_idx on public.voice_presence (room_name) where left_at is null;
create index voice_presence_joined_at_idx on public.voice_presence (joined_at desc);
create index voice_presence_user_idx on public.voice_presence (user_id);

create table nexus_private.room_finishes (
  room_name text primary key,
  finished_at timestamptz not null
);

grant select on public.voice_presence to authenticated, service_role;
grant insert, update, delete on public.voice_presence to service_role;
grant select, insert, update, delete on nexus_private.room_finishes to service_role;

-- migrate:down
drop table if exists nexus_private.room_finishes;
drop table if exists public.voice_presence cascade;

-- migrate:up
/*
 * Voice nets: the organisation's radio channels, each one LiveKit room (room_name). A net is where members talk;
 * who may join, hear (rx) and speak (tx) on it is added by the next migration (voice_nets_rbac), under the name
 * the runbook knows. Presence on a net (who is connected right now) is not kept here but in voice_presence,
 * mirrored from LiveKit's webhooks.
 */
create table public.voice_nets (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  room_name text not null,
  description text,
  created_at timestamptz not null default now(),
  constraint voice_nets_name_format check (length(btrim(name)) between 1 and 64),
  -- LiveKit accepts any string as a room name; we keep it to what is safe in a URL and a log line.
  constraint voice_nets_room_name_format check (room_name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$')
);
alter table public.voice_nets enable row level security;
create unique index voice_nets_room_name_key on public.voice_nets (room_name);
comment on table public.voice_nets is 'A voice net (radio channel): one LiveKit room, gated by rank and optionally by squad.';
comment on column public.voice_nets.room_name is 'The LiveKit room this net lives in; unique.';

grant select, delete on public.voice_nets to authenticated;
grant insert (name, room_name, description), update (name, room_name, description) on public.voice_nets to authenticated;
grant select, insert, update, delete on public.voice_nets to service_role;

-- migrate:down
drop table if exists public.voice_nets;

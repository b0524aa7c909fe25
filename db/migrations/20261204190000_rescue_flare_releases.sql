-- migrate:up
/*
 * Released responders: the requester of an ACKNOWLEDGED flare may send its responder away
 * (public.release_rescue_flare, db/functions/51_rescue_flares.sql): the flare is OPEN again for someone else,
 * and the member released may not answer that flare again. Without it, whoever acknowledged first (any member,
 * a VAGRANT minutes old too) held the flare until the requester ended it, and a new flare could be taken the
 * same way. One row per flare and member released; it goes with the flare or the member.
 */
create table nexus_private.rescue_flare_releases (
  flare_id uuid not null references public.rescue_flares (id) on delete cascade,
  responder_id uuid not null references public.profiles (id) on delete cascade,
  released_at timestamptz not null default now(),
  primary key (flare_id, responder_id)
);
create index rescue_flare_releases_responder_idx on nexus_private.rescue_flare_releases (responder_id);
comment on table nexus_private.rescue_flare_releases is
  'Responders a flare''s requester released: each may not acknowledge that flare again.';
grant select on nexus_private.rescue_flare_releases to service_role;

-- migrate:down
-- The function db/functions/51_rescue_flares.sql adds for this goes with the table it writes.
drop function if exists public.release_rescue_flare(uuid);
drop table if exists nexus_private.rescue_flare_releases;

-- migrate:up
/*
 * Rescue flares: a member in trouble in the verse (downed ship, out of fuel, under fire) calls for help, and
 * every other member with a push subscription is paged at once. A flare is OPEN until a responder acknowledges
 * it (ACKNOWLEDGED: someone is on the way, and the requester is told who), and ends when the requester resolves
 * it (RESOLVED) or calls it off (CANCELLED).
 *
 * The rules live in the functions that change flares (db/functions/51_rescue_flares.sql): SCOUT and above may
 * fire; one active (OPEN or ACKNOWLEDGED) flare per requester, held here too by a partial unique index; at most
 * FLARE_MAX_PER_HOUR fired per requester per hour. Members read every flare; nobody writes the table directly.
 *
 * Not the delivery of the pages: those are rows of public.notification_queue.
 */
create type public.flare_type as enum ('MEDICAL', 'COMBAT', 'FUEL', 'REPAIR', 'TRANSPORT', 'OTHER');
comment on type public.flare_type is 'What kind of help a rescue flare asks for.';
create type public.flare_status as enum ('OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'CANCELLED');
comment on type public.flare_status is 'OPEN (waiting for a responder), ACKNOWLEDGED (a responder is on the way), RESOLVED or CANCELLED (over).';

create table public.rescue_flares (
  id uuid primary key default gen_random_uuid(),
  requester_id uuid not null references public.profiles (id) on delete cascade,
  location text not null,
  flare_type public.flare_type not null,
  status public.flare_status not null default 'OPEN',
  responder_id uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  acknowledged_at timestamptz,
  resolved_at timestamptz,
  cancelled_at timestamptz,
  constraint rescue_flares_location_length check (length(btrim(location)) between 1 and 200),
  constraint rescue_flares_acknowledged check (
    status in ('RESOLVED', 'CANCELLED') or ((status = 'OPEN') = (acknowledged_at is null))),
  constraint rescue_flares_resolved check ((status = 'RESOLVED') = (resolved_at is not null)),
  constraint rescue_flares_cancelled check ((status = 'CANCELLED') = (cancelled_at is not null)),
  constraint rescue_flares_not_own_responder check (responder_id is distinct from requester_id)
);
alter table public.rescue_flares enable row level security;

-- One active flare per requester, even if two requests race past the function's own check.
create unique index rescue_flares_one_active_per_requester on public.rescue_flares (requester_id)
  where status in ('OPEN', 'ACKNOWLEDGED');
-- The hourly limit counts a requester's recent flares.
create index rescue_flares_requester_created_at_idx on public.rescue_flares (requester_id, created_at desc);
create index rescue_flares_responder_id_idx on public.rescue_flares (responder_id);
-- "Open flares" for the ops page and the app.
create index rescue_flares_active_created_at_idx on public.rescue_flares (created_at desc)
  where status in ('OPEN', 'ACKNOWLEDGED');

comment on table public.rescue_flares is
  E'@behavior -insert -update -delete\nA call for help: who, where, what kind, and who answered. Fired with fireRescueFlare, answered with acknowledgeRescueFlare, ended with resolveRescueFlare or cancelRescueFlare.';
comment on column public.rescue_flares.location is 'Where the requester is, in their words (system, planet, station, grid).';
comment on column public.rescue_flares.responder_id is 'The member who acknowledged the flare.';

grant select on public.rescue_flares to authenticated;
grant select, insert, update, delete on public.rescue_flares to service_role;

-- migrate:down
-- The functions db/functions/51_rescue_flares.sql adds for flares go with them.
drop function if exists public.fire_rescue_flare(text, public.flare_type);
drop function if exists public.acknowledge_rescue_flare(uuid);
drop function if exists public.resolve_rescue_flare(uuid);
drop function if exists public.cancel_rescue_flare(uuid);
drop function if exists public.parse_flare_type(text);
drop function if exists nexus_private.close_rescue_flare(uuid, public.flare_status);
drop function if exists nexus_private.fan_out_flare(uuid, uuid, integer, integer);
drop function if exists nexus_private.flare_payload(public.rescue_flares, text);
drop function if exists nexus_private.flare_max_per_hour();
-- and the operators' view of open flares (db/functions/71_rescue_flares_ops.sql)
drop function if exists public.open_rescue_flares();
drop table if exists public.rescue_flares;
drop type if exists public.flare_status;
drop type if exists public.flare_type;

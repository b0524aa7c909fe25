-- migrate:up
/*
 * Identity: who a member is (auth.users: email and bcrypt password, never exposed) and what the organisation
 * knows of them (public.profiles: callsign and rank, visible to other members).
 *
 * Rank is an ordered enum so every gate in SQL is a plain comparison (`auth.rank() >= 'SCOUT'`). The order is
 * the NomadNexus ladder; a new member starts at VAGRANT. Rank changes go through public.set_member_rank() only,
 * which applies the promotion rules and writes nexus_private.audit_log.
 */
create type public.rank as enum ('VAGRANT', 'AFFILIATE', 'SCOUT', 'VOYAGER', 'FOUNDER', 'PIONEER');
comment on type public.rank is 'The NomadNexus rank ladder, lowest first: VAGRANT < AFFILIATE < SCOUT < VOYAGER < FOUNDER < PIONEER.';

create table auth.users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  password_hash text not null,
  created_at timestamptz not null default now(),
  constraint users_email_format check (email ~ '^[^@\s]+@[^@\s]+$' and length(email) <= 320)
);
create unique index users_email_key on auth.users (lower(email));
comment on table auth.users is 'Sign-in credentials. Never granted to API roles: reached only through security definer functions.';

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  callsign text not null,
  rank public.rank not null default 'VAGRANT',
  created_at timestamptz not null default now(),
  constraint profiles_callsign_format check (callsign ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{1,31}$')
);
alter table public.profiles enable row level security;
create unique index profiles_callsign_key on public.profiles (lower(callsign));
-- Smart tags must open the comment for PostGraphile to read them.
comment on table public.profiles is E'@behavior -insert -delete\nA member as the organisation sees them: callsign and rank.';
comment on column public.profiles.rank is 'Changed only through set_member_rank(), which enforces the promotion rules and audits.';

/*
 * One audit trail for every privileged change (rank changes, net bridges, certifications, job retries…):
 * who did it, as which role, what, to what, when. Append-only for everyone but the owner.
 */
create table nexus_private.audit_log (
  id bigint generated always as identity primary key,
  actor_id uuid,
  actor_role text not null,
  action text not null,
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index audit_log_action_created_at_idx on nexus_private.audit_log (action, created_at desc);
grant select on nexus_private.audit_log to service_role;

grant select on public.profiles to authenticated, service_role;
grant update (callsign) on public.profiles to authenticated;
grant insert, update, delete on public.profiles to service_role;

-- migrate:down
drop table if exists nexus_private.audit_log;
drop table if exists public.profiles cascade;
drop table if exists auth.users cascade;
drop type if exists public.rank cascade;

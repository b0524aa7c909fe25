-- migrate:up
/*
 * The roles and schemas every other migration stands on.
 *
 * Roles follow Supabase's names so a JWT minted by a Supabase project (role claim `authenticated`) and the
 * runbook's SQL keep working: `anon` (no JWT), `authenticated` (a signed-in member), `service_role` (workers,
 * operators' tools; bypasses RLS). The API server logs in as `nexus_authenticator`, which owns nothing and can
 * only switch to one of those three (NOINHERIT: it gains no privilege until it does).
 *
 * Schemas: `public` is what PostGraphile exposes; `auth` holds identity (Supabase-compatible helper names);
 * `nexus_private` holds secrets and internals that no API role may read directly.
 *
 * Roles are cluster-wide, so the down section leaves them in place: another database on the same server may use them.
 */
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'nexus_authenticator') then
    create role nexus_authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to nexus_authenticator;

create extension if not exists pgcrypto with schema public;

create schema if not exists auth;
create schema if not exists nexus_private;

-- Nothing is reachable by default; every grant below and in later migrations is deliberate.
revoke all on schema public from public;
revoke execute on all functions in schema public from public;
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from public;
alter default privileges in schema auth revoke execute on functions from public;
alter default privileges in schema nexus_private revoke execute on functions from public;

grant usage on schema public to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;
-- USAGE lets API roles call the few nexus_private functions granted to them (fail, audit); every table and
-- function in it is still private unless granted one by one.
grant usage on schema nexus_private to anon, authenticated, service_role;
-- pgcrypto lives in public; its functions are used by security definer code only, but gen_random_uuid() is a
-- column default in tables the API roles insert into.
grant execute on function public.gen_random_uuid() to anon, authenticated, service_role;

-- migrate:down
drop schema if exists nexus_private cascade;
drop schema if exists auth cascade;
drop extension if exists pgcrypto;
grant usage on schema public to public;

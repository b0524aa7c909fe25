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
declare
  grant_pair text[];
  superuser boolean := (select rolsuper from pg_roles where rolname = current_user);
begin
  -- Creating a BYPASSRLS role takes a superuser; an owner with CREATEROLE can do the rest once one has
  -- pre-created the roles (docs/operations.md, "Migrations and roles"), and each step below runs only if needed.
  if not superuser and not exists (select 1 from pg_roles where rolname = 'service_role') then
    raise exception 'role service_role does not exist, and only a superuser may create it (BYPASSRLS): have a superuser run the SQL in docs/operations.md, "Migrations and roles", or migrate as a superuser'
      using errcode = '42501';
  end if;
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
  -- Memberships a superuser granted beforehand are left as they are (granting again needs ADMIN OPTION on 16+).
  foreach grant_pair slice 1 in array array[['anon', 'nexus_authenticator'], ['authenticated', 'nexus_authenticator'], ['service_role', 'nexus_authenticator']] loop
    if not exists (select 1 from pg_auth_members where roleid = grant_pair[1]::regrole and member = grant_pair[2]::regrole) then
      execute format('grant %I to %I', grant_pair[1], grant_pair[2]);
    end if;
  end loop;
end
$$;

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

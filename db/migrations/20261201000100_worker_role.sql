-- migrate:up
/*
 * The worker's role: what a graphile-worker runner needs, apart from what the API may do.
 *
 * The server and the worker both log in as `nexus_authenticator`, which owns nothing and holds no privilege of
 * its own (NOINHERIT). API requests switch to anon, authenticated or service_role for their transaction; the
 * worker process switches its connections to `nexus_worker` for their whole session. nexus_worker is
 * service_role's rights (the security definer functions the tasks call: presence, fan-out, delivery, sweeps,
 * heartbeats) and, like service_role, BYPASSRLS (an attribute, not inherited), plus graphile-worker's queue: its tables, functions and sequences (granted in
 * db/functions/16_queue_access.sql, re-applied after every migrate because graphile-worker installs its schema
 * after these migrations). No API role, service_role included, gets the queue: the webhook shim enqueues
 * through one security definer function that only adds LiveKit webhook jobs.
 *
 * Roles and role memberships are cluster-wide, so the down section leaves both in place: revoking the
 * membership here took the worker's role away from every other database on the cluster too (a staging rollback
 * stopped production's worker starting; the test suite met it as a worker refused its schema mid-run).
 */
-- graphile-worker enables row level security on its own tables so that only their owner reads them; the
-- worker's role passes it the way service_role does. Creating a BYPASSRLS role, or giving one the attribute,
-- takes a superuser: each is done only when needed, so an owner with CREATEROLE migrates once a superuser has
-- pre-created the roles (docs/operations.md, "Migrations and roles").
do $$
declare
  grant_pair text[];
  superuser boolean := (select rolsuper from pg_roles where rolname = current_user);
  described text := 'graphile-worker runners: service_role''s rights plus the graphile_worker queue. The worker process SETs this role; nothing logs in as it.';
begin
  if not superuser and not exists (select 1 from pg_roles where rolname = 'nexus_worker' and rolbypassrls) then
    raise exception 'role nexus_worker does not exist or lacks BYPASSRLS, and only a superuser may give it that: have a superuser run the SQL in docs/operations.md, "Migrations and roles", or migrate as a superuser'
      using errcode = '42501';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'nexus_worker') then
    create role nexus_worker nologin inherit bypassrls;
  elsif not (select rolbypassrls from pg_roles where rolname = 'nexus_worker') then
    alter role nexus_worker bypassrls;
  end if;
  -- Memberships a superuser granted beforehand are left as they are (granting again needs ADMIN OPTION on 16+).
  foreach grant_pair slice 1 in array array[['service_role', 'nexus_worker'], ['nexus_worker', 'nexus_authenticator']] loop
    if not exists (select 1 from pg_auth_members where roleid = grant_pair[1]::regrole and member = grant_pair[2]::regrole) then
      execute format('grant %I to %I', grant_pair[1], grant_pair[2]);
    end if;
  end loop;
  if shobj_description((select oid from pg_roles where rolname = 'nexus_worker'), 'pg_authid') is distinct from described then
    begin
      execute format('comment on role nexus_worker is %L', described);
    exception when insufficient_privilege then
      -- PostgreSQL 16+: CREATEROLE alone no longer lets a role describe (or alter) a role it did not create.
      raise exception 'may not comment on role nexus_worker: on PostgreSQL 16+ the owner needs ADMIN OPTION on it (grant nexus_authenticator, nexus_worker to % with admin option, as a superuser; docs/operations.md, "Migrations and roles")', quote_ident(current_user)
        using errcode = '42501';
    end;
  end if;
end
$$;

-- migrate:down
-- Nothing: nexus_worker and who may switch to it are the cluster's, not this database's (see above).
select 1;

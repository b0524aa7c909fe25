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
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'nexus_worker') then
    create role nexus_worker nologin inherit bypassrls;
  end if;
end
$$;
-- graphile-worker enables row level security on its own tables so that only their owner reads them; the
-- worker's role passes it the way service_role does.
alter role nexus_worker bypassrls;
grant service_role to nexus_worker;
grant nexus_worker to nexus_authenticator;
comment on role nexus_worker is 'graphile-worker runners: service_role''s rights plus the graphile_worker queue. The worker process SETs this role; nothing logs in as it.';

-- migrate:down
-- Nothing: nexus_worker and who may switch to it are the cluster's, not this database's (see above).
select 1;

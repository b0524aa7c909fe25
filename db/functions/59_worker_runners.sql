/*
 * Runner liveness (see the worker_runners migration): a runner registers its worker pool and holds an advisory
 * lock for as long as it lives; the jobs of registered runners whose lock is gone go back to the queue.
 */

/* Register a runner's pool and take its liveness lock on this session. Call it on a connection kept for the runner's life. */
create or replace function nexus_private.register_worker_runner(pool_id text) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  key integer;
begin
  insert into nexus_private.worker_runners as r (pool_id) values (register_worker_runner.pool_id)
  on conflict on constraint worker_runners_pkey do update set started_at = r.started_at
  returning r.lock_key into key;
  -- Session level: held after this transaction commits, released when the session ends, however it ends.
  perform pg_advisory_lock(28280, key);
  return key;
end
$$;
grant execute on function nexus_private.register_worker_runner(text) to service_role;

/* A runner that stops cleanly (graphile-worker has already released its jobs) forgets itself. */
create or replace function nexus_private.unregister_worker_runner(pool_id text) returns void
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  key integer;
begin
  delete from nexus_private.worker_runners r where r.pool_id = unregister_worker_runner.pool_id
  returning r.lock_key into key;
  if key is not null then
    perform pg_advisory_unlock(28280, key);
  end if;
end
$$;
grant execute on function nexus_private.unregister_worker_runner(text) to service_role;

/* Give the jobs of dead runners (registered, lock gone) back to the queue; returns how many jobs. */
create or replace function nexus_private.unlock_orphaned_jobs() returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  dead text[];
  orphaned integer;
begin
  select array_agg(r.pool_id) into dead
    from nexus_private.worker_runners r
   where not exists (
     select 1 from pg_catalog.pg_locks l
      where l.locktype = 'advisory' and l.granted
        and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = current_database())
        and l.classid = 28280 and l.objid = r.lock_key::oid and l.objsubid = 2);
  if dead is null then
    return 0;
  end if;
  select count(*) into orphaned from graphile_worker._private_jobs j where j.locked_by = any(dead);
  perform graphile_worker.force_unlock_workers(dead);
  delete from nexus_private.worker_runners r where r.pool_id = any(dead);
  return orphaned;
end
$$;
grant execute on function nexus_private.unlock_orphaned_jobs() to service_role;

/* A runner says its workers are alive. */
create or replace function nexus_private.worker_heartbeat(worker_ids text[], runner text, host text, process_id integer)
returns void
language sql volatile security definer set search_path = pg_catalog, public as $$
  insert into nexus_private.worker_heartbeats as h (worker_id, runner_id, hostname, pid)
  select id, runner, host, process_id from unnest(worker_ids) id
  on conflict (worker_id) do update set last_seen = now()
$$;
grant execute on function nexus_private.worker_heartbeat(text[], text, text, integer) to service_role;

/* A runner stopping cleanly takes its ids off the list. */
create or replace function nexus_private.worker_gone(runner text) returns void
language sql volatile security definer set search_path = pg_catalog, public as $$
  delete from nexus_private.worker_heartbeats where runner_id = runner
$$;
grant execute on function nexus_private.worker_gone(text) to service_role;

/* Unlock the jobs of workers silent for longer than dead_after; returns their ids. */
create or replace function nexus_private.unlock_dead_workers(dead_after interval) returns text[]
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  dead text[];
begin
  with gone as (
    delete from nexus_private.worker_heartbeats where last_seen < now() - dead_after returning worker_id
  )
  select coalesce(array_agg(worker_id), '{}') into dead from gone;
  if cardinality(dead) > 0 then
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  return dead;
end
$$;
grant execute on function nexus_private.unlock_dead_workers(interval) to service_role;

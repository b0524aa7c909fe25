-- migrate:up
/*
 * Worker liveness. graphile-worker releases the jobs of a crashed worker only after four hours; a worker killed
 * mid-burst (SIGKILL, OOM, a lost node) would sit on its webhook events and pushes that long. Each runner
 * records the ids its workers lock jobs with and refreshes them every few seconds; a runner starting up and a
 * crontab sweep unlock the jobs of ids that stopped refreshing (graphile_worker.force_unlock_workers).
 */
create table nexus_private.worker_heartbeats (
  worker_id text primary key,
  runner_id text not null,
  hostname text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  last_seen timestamptz not null default now()
);
create index worker_heartbeats_last_seen_idx on nexus_private.worker_heartbeats (last_seen);
grant select, insert, update, delete on nexus_private.worker_heartbeats to service_role;

-- migrate:down
drop table if exists nexus_private.worker_heartbeats;

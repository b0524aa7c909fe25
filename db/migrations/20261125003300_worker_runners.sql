-- migrate:up
/*
 * Worker runners that are alive. graphile-worker marks a job it runs as locked by its worker pool and, if that
 * process dies without a word (SIGKILL, out of memory, a lost machine), leaves the job locked for four hours
 * before anyone else may run it: a rescue flare's fan-out would wait that long.
 *
 * So each runner of ours registers its pool here and holds a session-level advisory lock (classid 28280,
 * objid = lock_key) on a connection of its own for as long as it lives. When the process dies, Postgres closes
 * that session and the lock goes with it. nexus_private.unlock_orphaned_jobs() (at every runner's start and
 * every minute from the crontab) gives the jobs of registered runners whose lock is gone back to the queue.
 *
 * Runners that never registered here (another tool using the same queue) are left to graphile-worker's own
 * four-hour rule.
 */
create table nexus_private.worker_runners (
  pool_id text primary key,
  lock_key integer generated always as identity unique,
  started_at timestamptz not null default now()
);
comment on table nexus_private.worker_runners is 'Registered graphile-worker pools; alive while their advisory lock (28280, lock_key) is held.';
grant select, insert, delete on nexus_private.worker_runners to service_role;

-- migrate:down
-- The functions db/functions/59_worker_runners.sql adds for runners go with them.
drop function if exists nexus_private.register_worker_runner(text);
drop function if exists nexus_private.unregister_worker_runner(text);
drop function if exists nexus_private.unlock_orphaned_jobs();
drop table if exists nexus_private.worker_runners;

/*
 * Job queue monitoring (DESIGN.md §7) over graphile-worker's own tables. graphile-worker ships no UI, so these
 * functions are how operators — FOUNDER+ members and service_role — see and repair the queue from GraphQL
 * (jobQueueStats, failedJobs, cronSchedule, retryJobs, discardJobs), the CLI (`nexus jobs`), /ops and /metrics.
 *
 * How graphile-worker 0.18 keeps a job (graphile_worker._private_jobs):
 *   - a worker claims a job by setting locked_at/locked_by and adding one to attempts before it runs;
 *   - success deletes the row; failure unlocks it, stores last_error and pushes run_at back by exp(attempts) s;
 *   - once attempts = max_attempts the row is never picked again (is_available is false): a dead letter.
 * Retry and discard use graphile-worker's own SQL API (reschedule_jobs, complete_jobs), which skips jobs a worker
 * holds right now. Everything here is security definer because the API roles have no grant on graphile_worker.
 */

/*
 * The one gate: FOUNDER+ members, service_role (JWT role claim or SET ROLE), or a superuser's own SQL session
 * (the runbook's SQL-editor habit). Everyone else, anon included, gets INSUFFICIENT_CLEARANCE. Returns what the
 * caller operates as, for the audit trail (a superuser's session has no JWT, so audit_log alone would say anon).
 * Inside a security definer function current_user is the owner, so the caller's SET ROLE is read from the
 * `role` setting, which definer functions leave alone.
 */
create or replace function nexus_private.require_job_operator() returns text
language plpgsql stable set search_path = pg_catalog, public as $$
declare
  set_role text := current_setting('role', true);
begin
  if auth.is_service() or set_role = 'service_role' then
    return 'service_role';
  end if;
  if coalesce(set_role, 'none') = 'none' and (select r.rolsuper from pg_roles r where r.rolname = session_user) then
    return 'superuser ' || session_user;
  end if;
  if auth.uid() is null then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'sign in with a FOUNDER or PIONEER account to operate the job queue');
  end if;
  if coalesce(auth.rank() < 'FOUNDER', true) then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only FOUNDER and PIONEER may operate the job queue');
  end if;
  return auth.rank()::text;
end
$$;

/* A graphile-worker job row in the shape operators see (task and queue names instead of ids). */
create or replace function nexus_private.queue_job_of(job graphile_worker._private_jobs) returns public.queue_job
language sql stable set search_path = pg_catalog, public as $$
  select row(
    job.id,
    (select t.identifier from graphile_worker._private_tasks t where t.id = job.task_id),
    (select q.queue_name from graphile_worker._private_job_queues q where q.id = job.job_queue_id),
    job.key,
    job.payload,
    job.priority,
    job.run_at,
    job.attempts,
    job.max_attempts,
    job.last_error,
    job.locked_at,
    job.created_at,
    job.updated_at
  )::public.queue_job
$$;

/*
 * Queue depth per task, one row for every task a worker has registered (so a quiet task reads 0, not missing):
 * queued = due and waiting, scheduled = waiting for a later run_at (including back-off between attempts),
 * running = locked by a worker, failed = attempts exhausted (dead letters).
 */
create or replace function public.job_queue_stats() returns setof public.job_queue_stat
language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  perform nexus_private.require_job_operator();
  -- Aggregate by task id first, then name the tasks: one pass over the jobs, no join per job.
  return query
    select
      t.identifier,
      coalesce(a.queued, 0),
      coalesce(a.scheduled, 0),
      coalesce(a.running, 0),
      coalesce(a.failed, 0),
      a.oldest_queued_at
    from graphile_worker._private_tasks t
    left join (
      select
        j.task_id,
        (count(*) filter (where j.locked_at is null and j.attempts < j.max_attempts and j.run_at <= now()))::int as queued,
        (count(*) filter (where j.locked_at is null and j.attempts < j.max_attempts and j.run_at > now()))::int as scheduled,
        (count(*) filter (where j.locked_at is not null))::int as running,
        (count(*) filter (where j.locked_at is null and j.attempts >= j.max_attempts))::int as failed,
        min(j.run_at) filter (where j.locked_at is null and j.attempts < j.max_attempts and j.run_at <= now()) as oldest_queued_at
      from graphile_worker._private_jobs j
      group by j.task_id
    ) a on a.task_id = t.id
    order by t.identifier;
end
$$;
comment on function public.job_queue_stats() is 'Queue depth per task: queued, scheduled, running and failed (dead letter) jobs. FOUNDER+ and service_role only.';
grant execute on function public.job_queue_stats() to anon, authenticated, service_role;

/* Dead letters (attempts exhausted, not running), newest failure first; all tasks when task_identifier is null. */
create or replace function public.failed_jobs(task_identifier text default null) returns setof public.queue_job
language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  perform nexus_private.require_job_operator();
  return query
    select j.id, t.identifier, q.queue_name, j.key, j.payload, j.priority::int, j.run_at, j.attempts::int,
           j.max_attempts::int, j.last_error, j.locked_at, j.created_at, j.updated_at
    from graphile_worker._private_jobs j
    join graphile_worker._private_tasks t on t.id = j.task_id
    left join graphile_worker._private_job_queues q on q.id = j.job_queue_id
    where j.locked_at is null
      and j.attempts >= j.max_attempts
      and (failed_jobs.task_identifier is null or t.identifier = failed_jobs.task_identifier)
    order by j.updated_at desc, j.id desc;
end
$$;
comment on function public.failed_jobs(text) is 'Dead letters (attempts exhausted) with their last error and payload, newest first; optionally of one task. FOUNDER+ and service_role only.';
grant execute on function public.failed_jobs(text) to anon, authenticated, service_role;

/* The crontab items workers have registered and when each last fired. */
create or replace function public.cron_schedule() returns setof public.cron_item
language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  perform nexus_private.require_job_operator();
  return query
    select c.identifier, c.known_since, c.last_execution
    from graphile_worker._private_known_crontabs c
    order by c.identifier;
end
$$;
comment on function public.cron_schedule() is 'Crontab items with their last execution. FOUNDER+ and service_role only.';
grant execute on function public.cron_schedule() to anon, authenticated, service_role;

create or replace function nexus_private.check_job_ids(job_ids bigint[]) returns void
language plpgsql immutable as $$
begin
  if job_ids is null or cardinality(job_ids) = 0 then
    perform nexus_private.fail('BAD_REQUEST', 'give at least one job id');
  end if;
  if cardinality(job_ids) > 1000 then
    perform nexus_private.fail('BAD_REQUEST', 'at most 1000 job ids at a time');
  end if;
  if array_position(job_ids, null) is not null then
    perform nexus_private.fail('BAD_REQUEST', 'job ids must not be null');
  end if;
end
$$;

/*
 * Put jobs back in the queue now with their attempts reset (their last_error stays until the next attempt
 * overwrites it). Jobs a worker is running are left alone; the result lists the jobs actually retried. Workers
 * are woken the way graphile-worker's add_jobs wakes them, so the retry runs without waiting for a poll.
 */
create or replace function public.retry_jobs(job_ids bigint[]) returns setof public.queue_job
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  operator text := nexus_private.require_job_operator();
  retried public.queue_job[];
begin
  perform nexus_private.check_job_ids(job_ids);
  select coalesce(array_agg(nexus_private.queue_job_of(r) order by r.id), '{}')
    into retried
    from graphile_worker.reschedule_jobs(retry_jobs.job_ids, run_at => now(), attempts => 0) r;
  if cardinality(retried) > 0 then
    perform pg_notify('jobs:insert', json_build_object('r', random(), 'count', cardinality(retried))::text);
  end if;
  perform nexus_private.audit('job.retried', jsonb_build_object(
    'as', operator,
    'requested', to_jsonb(retry_jobs.job_ids),
    'jobs', (select coalesce(jsonb_agg(jsonb_build_object(
               'id', r.id, 'task', r.task_identifier, 'last_error', left(r.last_error, 500))), '[]')
             from unnest(retried) r)));
  return query select * from unnest(retried);
end
$$;
comment on function public.retry_jobs(bigint[]) is 'Retry jobs now with attempts reset (jobs being run are skipped). Audited as job.retried. FOUNDER+ and service_role only.';
grant execute on function public.retry_jobs(bigint[]) to anon, authenticated, service_role;

/* What the audit trail keeps of jobs deleted for good (discarded, superseded), since their rows are gone. */
create or replace function nexus_private.removed_jobs(jobs public.queue_job[]) returns jsonb
language sql immutable as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', d.id, 'task', d.task_identifier, 'key', d.key, 'attempts', d.attempts, 'last_error', left(d.last_error, 500))), '[]')
    from unnest(jobs) d
$$;
revoke execute on function nexus_private.removed_jobs(public.queue_job[]) from public;

/*
 * Remove jobs for good (graphile-worker's complete_jobs: a job that is not running is deleted). What was removed
 * — task, attempts, last error, key — is kept in the audit trail, since the job row itself is gone.
 */
create or replace function public.discard_jobs(job_ids bigint[]) returns setof public.queue_job
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  operator text := nexus_private.require_job_operator();
  discarded public.queue_job[];
begin
  perform nexus_private.check_job_ids(job_ids);
  select coalesce(array_agg(nexus_private.queue_job_of(removed) order by removed.id), '{}')
    into discarded
    from graphile_worker.complete_jobs(discard_jobs.job_ids) removed;
  perform nexus_private.audit('job.discarded', jsonb_build_object(
    'as', operator,
    'requested', to_jsonb(discard_jobs.job_ids),
    'jobs', nexus_private.removed_jobs(discarded)));
  return query select * from unnest(discarded);
end
$$;
comment on function public.discard_jobs(bigint[]) is 'Delete jobs that are not running. Audited as job.discarded with what was removed. FOUNDER+ and service_role only.';
grant execute on function public.discard_jobs(bigint[]) to anon, authenticated, service_role;

/*
 * Give up a running job that can never succeed (a payload that can never be valid): its remaining attempts are
 * taken away while its worker still holds it, so the failure that worker then records, with the reason, makes
 * it a dead letter at once, for failedJobs, /ops and `nexus jobs --failed`, instead of 25 retries or a silent
 * drop. graphile-worker's own permanently_fail_jobs leaves locked (running) jobs alone, hence this; only the
 * worker holding the job (locked_by) may give it up. True when it did.
 */
create or replace function nexus_private.give_up_job(job_id bigint, worker_id text) returns boolean
language sql volatile security definer set search_path = pg_catalog, public as $$
  with given_up as (
    update graphile_worker._private_jobs j
       set max_attempts = greatest(j.attempts, 1)
     where j.id = give_up_job.job_id and j.locked_by = give_up_job.worker_id
    returning 1
  )
  select exists (select 1 from given_up)
$$;
grant execute on function nexus_private.give_up_job(bigint, text) to service_role;

/*
 * A periodic task (an item of worker/crontab) that fails for good on every run would leave one more dead letter per
 * run: an hour of LiveKit being unreachable, sixty presence__reconcile dead letters with the same error. Each run
 * supersedes the last, so of each such task only the newest dead letter is kept: it still counts in
 * nexus_job_dead_letters and shows on /ops with its error, and it goes when a later run fails (or an operator
 * discards it). The older ones are deleted and audited as job.superseded with what they held. Jobs of other tasks,
 * and jobs running or with attempts left, are never touched. Called by the worker's minute sweep with the crontab's
 * task names; the number deleted.
 */
create or replace function nexus_private.prune_superseded_dead_letters(tasks text[]) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  pruned public.queue_job[];
begin
  select coalesce(array_agg(nexus_private.queue_job_of(removed) order by removed.id), '{}')
    into pruned
    from graphile_worker.complete_jobs(array(
      select d.id from (
        select c.id, row_number() over (partition by c.task_id order by c.updated_at desc, c.id desc) as age
          from (
            -- Locked until this transaction ends: an operator's retry (attempts back to 0) waits for it, so no job
            -- is deleted after it got attempts back.
            select j.id, j.task_id, j.updated_at
              from graphile_worker._private_jobs j
             where j.task_id in (select t.id from graphile_worker._private_tasks t where t.identifier = any(prune_superseded_dead_letters.tasks))
               and j.attempts >= j.max_attempts and j.locked_at is null
               for update skip locked
          ) c
      ) d
      where d.age > 1)) removed;
  if cardinality(pruned) > 0 then
    perform nexus_private.audit('job.superseded', jsonb_build_object('jobs', nexus_private.removed_jobs(pruned)));
  end if;
  return cardinality(pruned);
end
$$;
revoke execute on function nexus_private.prune_superseded_dead_letters(text[]) from public;
grant execute on function nexus_private.prune_superseded_dead_letters(text[]) to service_role;

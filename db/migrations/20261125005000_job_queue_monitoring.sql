-- migrate:up
/*
 * Job queue monitoring: the rows in which operators (FOUNDER+ and service_role) see graphile-worker's queue —
 * webhook applies, push fan-out and delivery, sweeps.
 *
 * There is no table here on purpose: the jobs live in graphile-worker's own tables (graphile_worker._private_jobs,
 * _private_tasks, _private_known_crontabs), installed by graphile-worker after these migrations. These composite
 * types are only the shapes returned by the monitoring functions in db/functions/70_job_queue.sql, so GraphQL
 * names them JobQueueStat, QueueJob and CronItem and the page, the CLI and /metrics read the same columns.
 * Who looked and who retried or discarded what is written to nexus_private.audit_log, not here.
 */
create type public.job_queue_stat as (
  task_identifier text,
  queued integer,
  scheduled integer,
  running integer,
  failed integer,
  oldest_queued_at timestamptz
);
comment on type public.job_queue_stat is 'How many jobs of one task are waiting, running or dead (attempts exhausted).';
comment on column public.job_queue_stat.task_identifier is E'@notNull\nThe task (worker/tasks/<subject>__<action>.ts).';
comment on column public.job_queue_stat.queued is E'@notNull\nJobs due now and waiting for a worker.';
comment on column public.job_queue_stat.scheduled is E'@notNull\nJobs waiting for a later run time: scheduled ahead, or backing off before their next attempt.';
comment on column public.job_queue_stat.running is E'@notNull\nJobs a worker has locked and is running now.';
comment on column public.job_queue_stat.failed is E'@notNull\nDead letters: jobs whose attempts are exhausted; they stay until retried or discarded.';
comment on column public.job_queue_stat.oldest_queued_at is 'When the longest-waiting due job became due (null when none is waiting).';

create type public.queue_job as (
  id bigint,
  task_identifier text,
  queue_name text,
  key text,
  payload json,
  priority integer,
  run_at timestamptz,
  attempts integer,
  max_attempts integer,
  last_error text,
  locked_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz
);
comment on type public.queue_job is 'One job in the queue, as graphile-worker keeps it.';
comment on column public.queue_job.id is E'@notNull\nThe job id; give it to retryJobs or discardJobs.';
comment on column public.queue_job.task_identifier is E'@notNull';
comment on column public.queue_job.key is 'The job key (e.g. a webhook event id), which makes a re-enqueue replace rather than duplicate.';
comment on column public.queue_job.attempts is E'@notNull\nAttempts made so far.';
comment on column public.queue_job.max_attempts is E'@notNull\nAttempts allowed; at this many the job is a dead letter.';
comment on column public.queue_job.last_error is 'The error of the latest failed attempt.';
comment on column public.queue_job.run_at is 'When the job is (or was) due.';
comment on column public.queue_job.updated_at is 'Last change: for a dead letter, when its final attempt failed.';

create type public.cron_item as (
  identifier text,
  known_since timestamptz,
  last_execution timestamptz
);
comment on type public.cron_item is 'A schedule from worker/crontab that a worker has registered, with its latest run.';
comment on column public.cron_item.identifier is E'@notNull\nThe crontab item''s identifier (its task name unless it sets ?id=).';
comment on column public.cron_item.last_execution is 'When the schedule last fired (null until its first run).';

-- migrate:down
drop type if exists public.cron_item cascade;
drop type if exists public.queue_job cascade;
drop type if exists public.job_queue_stat cascade;

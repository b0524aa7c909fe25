begin;
select plan(20);

/*
 * retry_jobs(job_ids) (DESIGN.md §7): put jobs back in the queue now with attempts reset, through graphile-worker's
 * own reschedule_jobs, so a worker picks them up; a job a worker holds is left alone. Every call is audited.
 * FOUNDER+ and service_role only.
 */
create temp table ids on commit drop as
  select 'dead' as what, tests.add_job('tap__alpha', 'exhausted', 'Error: LiveKit answered 503') as id
  union all select 'dead 2', tests.add_job('tap__alpha', 'exhausted')
  union all select 'locked', tests.add_job('tap__alpha', 'locked')
  union all select 'scheduled', tests.add_job('tap__beta', 'scheduled');
grant select on ids to public;
update graphile_worker._private_jobs set run_at = now() + interval '2 hours' where id = (select id from ids where what = 'dead');
create function pg_temp.job(what text) returns graphile_worker._private_jobs language sql as
  $$ select j from graphile_worker._private_jobs j where j.id = (select id from ids where ids.what = job.what) $$;

-- Refusals first: nothing changes and nothing is audited.
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select * from public.retry_jobs(array[(select id from ids where what = 'dead')]) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a VOYAGER may not retry jobs');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.retry_jobs(array[(select id from ids where what = 'dead')]) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a SCOUT may not retry jobs');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select * from public.retry_jobs(array[(select id from ids where what = 'dead')]) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'an AFFILIATE may not retry jobs');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select * from public.retry_jobs(array[(select id from ids where what = 'dead')]) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a VAGRANT may not retry jobs');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.retry_jobs(array[(select id from ids where what = 'dead')]) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'anon may not retry jobs');
reset role;
select is((pg_temp.job('dead')).attempts, 3::smallint, 'a refused retry leaves the dead letter exhausted');
select is_empty($$ select 1 from nexus_private.audit_log where action = 'job.retried' $$, 'a refused retry writes no audit row');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ select * from public.retry_jobs('{}') $$, 'NX400', 'BAD_REQUEST', 'retrying no job ids is a bad request');
select results_eq(
  $$ select id, attempts, task_identifier from public.retry_jobs(array(select id from ids where what in ('dead', 'locked'))) $$,
  $$ select id, 0, 'tap__alpha' from ids where what = 'dead' $$,
  'a FOUNDER retries a dead letter; the job a worker is running is skipped and not returned');
reset role;

select is((pg_temp.job('dead')).attempts, 0::smallint, 'the retried job''s attempts are reset');
select ok((pg_temp.job('dead')).run_at <= now(), 'the retried job is due now, even though its run_at was later');
select ok((pg_temp.job('dead')).is_available, 'the retried job is available to workers again');
select is((pg_temp.job('dead')).last_error, 'Error: LiveKit answered 503', 'the last error stays until the next attempt replaces it');
select is((pg_temp.job('locked')).locked_by, 'tests-worker', 'the running job is untouched');
select is(tests.claim_next_job('tap__alpha'), (select id from ids where what = 'dead'), 'a worker claiming the task''s next job picks up the retried job');
select ok(exists(select 1 from nexus_private.audit_log
   where action = 'job.retried' and actor_id = tests.user_of_rank('FOUNDER') and actor_role = 'authenticated'
     and details -> 'jobs' -> 0 ->> 'id' = (select id from ids where what = 'dead')::text
     and details ->> 'as' = 'FOUNDER'
     and jsonb_array_length(details -> 'requested') = 2),
  'the retry is audited: who, which jobs were asked for and which were retried');

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is((select count(*)::int from public.retry_jobs(array[(select id from ids where what = 'scheduled')])), 1,
  'a PIONEER may retry a job waiting for a later run');
reset role;
select ok((pg_temp.job('scheduled')).run_at <= now(), 'a retried scheduled job is due now');

select tests.authenticate_as_service();
select is((select count(*)::int from public.retry_jobs(array[(select id from ids where what = 'dead 2')])), 1,
  'service_role (the CLI) may retry jobs');
reset role;
select ok(exists(select 1 from nexus_private.audit_log where action = 'job.retried' and actor_role = 'service_role'),
  'a retry by the CLI is audited as service_role');

select * from finish();
rollback;

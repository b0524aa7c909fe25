begin;
select plan(14);

/*
 * discard_jobs(job_ids) (DESIGN.md §7): delete jobs for good through graphile-worker's complete_jobs; a job a
 * worker holds is left alone. The audit trail keeps what was removed. FOUNDER+ and service_role only.
 */
create temp table ids on commit drop as
  select 'dead' as what, tests.add_job('tap__alpha', 'exhausted', 'Error: poison payload') as id
  union all select 'dead 2', tests.add_job('tap__alpha', 'exhausted')
  union all select 'locked', tests.add_job('tap__alpha', 'locked');
grant select on ids to public;

select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select * from public.discard_jobs(array(select id from ids)) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a VOYAGER may not discard jobs');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.discard_jobs(array(select id from ids)) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a SCOUT may not discard jobs');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select * from public.discard_jobs(array(select id from ids)) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'an AFFILIATE may not discard jobs');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select * from public.discard_jobs(array(select id from ids)) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a VAGRANT may not discard jobs');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.discard_jobs(array(select id from ids)) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'anon may not discard jobs');
reset role;
select is((select count(*)::int from graphile_worker._private_jobs where id in (select id from ids)), 3,
  'refused discards remove nothing');
select is_empty($$ select 1 from nexus_private.audit_log where action = 'job.discarded' $$, 'a refused discard writes no audit row');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select results_eq(
  $$ select id, task_identifier, last_error from public.discard_jobs(array(select id from ids where what in ('dead', 'locked'))) $$,
  $$ select id, 'tap__alpha', 'Error: poison payload' from ids where what = 'dead' $$,
  'a FOUNDER discards a dead letter and gets it back; the job a worker is running is skipped');
select is_empty($$ select * from public.failed_jobs('tap__alpha') where id = (select id from ids where what = 'dead') $$,
  'the discarded job is no longer a dead letter');
reset role;
select is_empty($$ select 1 from graphile_worker._private_jobs where id = (select id from ids where what = 'dead') $$,
  'the discarded job is gone from the queue');
select isnt_empty($$ select 1 from graphile_worker._private_jobs where id = (select id from ids where what = 'locked') $$,
  'the running job is still there');
select ok(exists(select 1 from nexus_private.audit_log
   where action = 'job.discarded' and actor_id = tests.user_of_rank('FOUNDER')
     and details -> 'jobs' -> 0 ->> 'id' = (select id from ids where what = 'dead')::text
     and details -> 'jobs' -> 0 ->> 'task' = 'tap__alpha'
     and details -> 'jobs' -> 0 ->> 'last_error' = 'Error: poison payload'),
  'the discard is audited with who did it and what the removed job was');

select tests.authenticate_as_service();
select is((select count(*)::int from public.discard_jobs(array[(select id from ids where what = 'dead 2')])), 1,
  'service_role (the CLI) may discard jobs');
reset role;
select ok(exists(select 1 from nexus_private.audit_log where action = 'job.discarded' and actor_role = 'service_role'),
  'a discard by the CLI is audited as service_role');

select * from finish();
rollback;

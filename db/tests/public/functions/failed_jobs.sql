begin;
select plan(12);

/*
 * failed_jobs(task_identifier) (DESIGN.md §7): the dead letters — jobs whose attempts are exhausted and that no
 * worker holds — with their last error and payload, newest failure first. FOUNDER+ and service_role only.
 */
create temp table ids on commit drop as
  select 'queued' as what, tests.add_job('tap__alpha', 'queued') as id
  union all select 'locked', tests.add_job('tap__alpha', 'locked')
  union all select 'old dead', tests.add_job('tap__alpha', 'exhausted', 'Error: older failure')
  union all select 'new dead', tests.add_job('tap__alpha', 'exhausted', E'Error: push service answered 410\n    at deliver')
  union all select 'beta dead', tests.add_job('tap__beta', 'exhausted');
grant select on ids to public;
update graphile_worker._private_jobs set updated_at = now() - interval '1 hour' where id = (select id from ids where what = 'old dead');
-- A worker running a job's final attempt holds it with attempts = max_attempts: running, not dead.
update graphile_worker._private_jobs set attempts = max_attempts where id = (select id from ids where what = 'locked');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select results_eq(
  $$ select id from public.failed_jobs() where task_identifier like 'tap\_\_%' $$,
  $$ select id from ids where what in ('beta dead', 'new dead', 'old dead')
      order by case what when 'old dead' then 2 else 1 end, id desc $$,
  'a FOUNDER sees exactly the exhausted jobs, newest failure first; queued and running jobs are not dead letters');
select results_eq(
  $$ select id from public.failed_jobs('tap__alpha') $$,
  $$ select id from ids where what in ('new dead', 'old dead') order by what = 'old dead', id $$,
  'failed_jobs(task) lists the dead letters of that task only');
select is((select (last_error, payload::jsonb, attempts, max_attempts, task_identifier)::text from public.failed_jobs('tap__alpha')
            where id = (select id from ids where what = 'new dead')),
  (E'Error: push service answered 410\n    at deliver', '{"test": "exhausted"}'::jsonb, 3, 3, 'tap__alpha')::text,
  'a dead letter carries its last error, payload, attempts and task');
select is_empty($$ select * from public.failed_jobs('tap__nothing') $$, 'an unknown task has no dead letters');

reset role;
select tests.authenticate_as_service();
select is((select count(*)::int from public.failed_jobs() where task_identifier like 'tap\_\_%'), 3,
  'service_role sees the dead letters');

reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is((select count(*)::int from public.failed_jobs('tap__beta')), 1, 'a PIONEER sees the dead letters');

reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select * from public.failed_jobs() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a VOYAGER may not list dead letters');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.failed_jobs('tap__alpha') $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a SCOUT may not list dead letters');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select * from public.failed_jobs() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'an AFFILIATE may not list dead letters');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select * from public.failed_jobs() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a VAGRANT may not list dead letters');
reset role;
select tests.authenticate_as(gen_random_uuid());
select throws_ok($$ select * from public.failed_jobs() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a token for a user without a profile may not list dead letters');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.failed_jobs() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'anon may not list dead letters');

select * from finish();
rollback;

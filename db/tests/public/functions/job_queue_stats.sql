begin;
select plan(13);

/*
 * job_queue_stats() (DESIGN.md §7): queue depth per task, for FOUNDER+ and service_role only. Every rank below
 * FOUNDER, anon and a token without a member are refused with INSUFFICIENT_CLEARANCE and see no rows.
 */
select tests.add_job('tap__alpha', 'queued') from generate_series(1, 3);
update graphile_worker._private_jobs set run_at = '2026-01-01 00:00:00+00'
 where id = (select max(id) from graphile_worker._private_jobs);
select tests.add_job('tap__alpha', 'scheduled');
select tests.add_job('tap__alpha', 'locked') from generate_series(1, 2);
select tests.add_job('tap__alpha', 'exhausted');
select tests.add_job('tap__beta', 'exhausted') from generate_series(1, 2);
insert into graphile_worker._private_tasks (identifier) values ('tap__idle');

create temp table expected on commit drop as
  select * from (values
    ('tap__alpha', 3, 1, 2, 1, '2026-01-01 00:00:00+00'::timestamptz),
    ('tap__beta', 0, 0, 0, 2, null),
    ('tap__idle', 0, 0, 0, 0, null)
  ) v(task_identifier, queued, scheduled, running, failed, oldest_queued_at);
grant select on expected to public;

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select results_eq(
  $$ select task_identifier, queued, scheduled, running, failed, oldest_queued_at
       from public.job_queue_stats() where task_identifier like 'tap\_\_%' order by 1 $$,
  $$ select * from expected order by 1 $$,
  'a FOUNDER sees per task the queued, scheduled, locked (running) and exhausted (dead letter) jobs added, and the oldest due run_at');

reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is((select count(*)::int from public.job_queue_stats() where task_identifier like 'tap\_\_%'), 3,
  'a PIONEER sees one row per task, idle tasks included');

reset role;
select tests.authenticate_as_service();
select is((select failed from public.job_queue_stats() where task_identifier = 'tap__beta'), 2,
  'service_role (workers, the CLI, /metrics) sees the queue');

reset role;
select set_config('request.jwt.claims', '', true);
select is((select running from public.job_queue_stats() where task_identifier = 'tap__alpha'), 2,
  'a superuser''s own SQL session (the runbook''s SQL editor) sees the queue');

reset role;
set local role service_role;
select is((select queued from public.job_queue_stats() where task_identifier = 'tap__alpha'), 3,
  'SET ROLE service_role without JWT claims is service_role too');

reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select * from public.job_queue_stats() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a VOYAGER may not see the job queue');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.job_queue_stats() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a SCOUT may not see the job queue');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select * from public.job_queue_stats() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'an AFFILIATE may not see the job queue');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select * from public.job_queue_stats() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a VAGRANT may not see the job queue');
reset role;
select tests.authenticate_as(gen_random_uuid());
select throws_ok($$ select * from public.job_queue_stats() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a valid token for a user without a profile may not see the job queue');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.job_queue_stats() $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'anon may not see the job queue');
select throws_ok($$ select count(*) from graphile_worker._private_jobs $$, '42501', null,
  'anon cannot read graphile-worker''s tables directly either');

reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ select count(*) from graphile_worker._private_jobs $$, '42501', null,
  'even a FOUNDER reads the queue only through the monitoring functions, not the tables');

select * from finish();
rollback;

begin;
select plan(8);

/* cron_schedule() (DESIGN.md §7): the crontab items workers registered and when each last fired. FOUNDER+ only. */
insert into graphile_worker._private_known_crontabs (identifier, known_since, last_execution) values
  ('tap__sweep', '2026-11-01 00:00:00+00', '2026-11-25 12:00:00+00'),
  ('tap__never', '2026-11-20 00:00:00+00', null);

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select results_eq(
  $$ select identifier, known_since, last_execution from public.cron_schedule() where identifier like 'tap\_\_%' $$,
  $$ values ('tap__never', '2026-11-20 00:00:00+00'::timestamptz, null::timestamptz),
            ('tap__sweep', '2026-11-01 00:00:00+00', '2026-11-25 12:00:00+00') $$,
  'a FOUNDER sees every registered schedule with its last execution (null before its first run)');

reset role;
select tests.authenticate_as_service();
select is((select count(*)::int from public.cron_schedule() where identifier like 'tap\_\_%'), 2, 'service_role sees the schedules');

reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is((select last_execution from public.cron_schedule() where identifier = 'tap__sweep'), '2026-11-25 12:00:00+00'::timestamptz,
  'a PIONEER sees the schedules');

reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select * from public.cron_schedule() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a VOYAGER may not see the schedules');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.cron_schedule() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a SCOUT may not see the schedules');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select * from public.cron_schedule() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'an AFFILIATE may not see the schedules');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select * from public.cron_schedule() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'a VAGRANT may not see the schedules');
reset role;
select tests.clear_authentication();
select throws_ok($$ select * from public.cron_schedule() $$, 'NX403', 'INSUFFICIENT_CLEARANCE', 'anon may not see the schedules');

select * from finish();
rollback;

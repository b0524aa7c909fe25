begin;
select plan(20);

select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;

-- Rank gate: SCOUT and above.
select tests.clear_authentication();
select throws_ok($$ select public.fire_rescue_flare('Hurston', 'MEDICAL') $$, '42501', null, 'anon cannot fire a flare');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.fire_rescue_flare('Hurston', 'MEDICAL') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a VAGRANT cannot fire a flare');
reset role;
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select public.fire_rescue_flare('Hurston', 'MEDICAL') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'an AFFILIATE cannot fire a flare');
reset role;
select is((select count(*)::int from public.rescue_flares), 0, 'refused flares are not stored');

select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is((public.fire_rescue_flare('  Stanton III - Crusader  ', 'MEDICAL')).status, 'OPEN'::public.flare_status,
  'a SCOUT fires a flare, which is OPEN');
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select lives_ok($$ select public.fire_rescue_flare('Yela', 'FUEL') $$, 'a VOYAGER fires a flare');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ select public.fire_rescue_flare('Daymar', 'REPAIR') $$, 'a FOUNDER fires a flare');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select public.fire_rescue_flare('Aberdeen', 'COMBAT') $$, 'a PIONEER fires a flare');
reset role;
select is((select location from public.rescue_flares where requester_id = tests.user_of_rank('SCOUT')), 'Stanton III - Crusader',
  'the location is stored trimmed');

-- Flare types at the edges: any case; an unknown one is BAD_REQUEST, for a member too.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is(public.parse_flare_type(' medical '), 'MEDICAL'::public.flare_type, 'flare types from REST bodies match in any case');
select throws_ok($$ select public.parse_flare_type('PIZZA') $$, 'NX400', 'BAD_REQUEST', 'an unknown flare type is BAD_REQUEST');
reset role;

-- Firing queues the fan-out in the same transaction.
select is((select count(*)::int from graphile_worker._private_jobs j
             join graphile_worker._private_tasks t on t.id = j.task_id
             join public.rescue_flares f on j.payload->>'flareId' = f.id::text
            where t.identifier = 'push__fanout'), 4, 'each flare queues its fan-out job with it');

-- One active flare per requester.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'NX409', 'CONFLICT',
  'a requester with an OPEN flare cannot fire another');
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select public.cancel_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid();
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select public.acknowledge_rescue_flare(id) from public.rescue_flares where requester_id = tests.user_of_rank('SCOUT');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'NX409', 'CONFLICT',
  'a requester whose flare is ACKNOWLEDGED (help on the way) cannot fire another');

-- The hourly limit: FLARE_MAX_PER_HOUR via nexus.flare_max_per_hour, 6 when unset.
select public.resolve_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid();
select set_config('nexus.flare_max_per_hour', '3', true);
select lives_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'after resolving, the requester may fire again');
select public.cancel_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid() and status = 'OPEN';
select lives_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'the third flare within the hour is allowed at a limit of 3');
select public.cancel_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid() and status = 'OPEN';
select throws_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'NX429', 'RATE_LIMITED',
  'the fourth flare within the hour is refused at a limit of 3 (cancelled flares count)');
select ok(substring(tests.error_hint($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$) from '^retry_after=(\d+)$')::int between 3590 and 3600,
  'the refusal says, in the hint retry_after=N, the seconds until the oldest of those flares leaves the hour');
select set_config('nexus.flare_max_per_hour', '', true);
select lives_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'unset, the limit is 6, so a fourth is allowed');
reset role;
-- An hour later the oldest no longer counts.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select public.cancel_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid() and status = 'OPEN';
select set_config('nexus.flare_max_per_hour', '4', true);
reset role;
update public.rescue_flares set created_at = created_at - interval '61 minutes'
 where id = (select id from public.rescue_flares where requester_id = tests.user_of_rank('SCOUT') order by created_at limit 1);
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select public.fire_rescue_flare('Lorville', 'COMBAT') $$, 'flares older than an hour do not count towards the limit');

select * from finish();
rollback;

begin;
select plan(29);

/*
 * Releasing the responder of a rescue flare (security review: whoever acknowledged first held the flare). Only
 * the requester, on their own ACKNOWLEDGED flare: it is OPEN again, the responder cleared and told, audited, and
 * the member released may not answer it again. Tried from every other side: anon, each rank, the responder,
 * service_role, the released responder acknowledging again. A release fires nothing: FLARE_MAX_PER_HOUR is untouched.
 */
select tests.create_user('requester', 'SCOUT');
select tests.create_user('griefer', 'VAGRANT'); -- a sign-up minutes old
select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;
select tests.subscribe(tests.member('requester'), 'https://push.tests.invalid/requester-phone');
select tests.subscribe(tests.member('griefer'), 'https://push.tests.invalid/griefer-phone');
select set_config('nexus.flare_max_per_hour', '2', true);

create temp table flare on commit drop as select tests.fire_flare(tests.member('requester'), 'Stanton III - Crusader') as id;
grant select on flare to public;
create temp table outcomes (rank public.rank, outcome text) on commit drop;
grant all on outcomes to public;

-- Nothing to release on an OPEN flare, and no flare that does not exist.
select tests.authenticate_as(tests.member('requester'));
select throws_ok($$ select public.release_rescue_flare((select id from flare)) $$, 'NX409', 'CONFLICT',
  'an OPEN flare has no responder to release');
select throws_ok($$ select public.release_rescue_flare(gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'releasing on a flare that does not exist is NOT_FOUND');
reset role;

select tests.authenticate_as(tests.member('griefer'));
select is((public.acknowledge_rescue_flare((select id from flare))).responder_id, auth.uid(), 'the griefer takes the flare');
-- the responder cannot release themselves (they have no use for it; the requester decides)
select throws_ok($$ select public.release_rescue_flare((select id from flare)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'the responder cannot release the flare they answered');
reset role;

-- anon
select tests.clear_authentication();
select throws_ok($$ select public.release_rescue_flare((select id from flare)) $$, '42501', null, 'anon cannot release a flare''s responder');
reset role;

-- every other member, whatever their rank
select tests.as_each_rank($$ insert into outcomes select $1, tests.affected('select public.release_rescue_flare((select id from flare))') $$);
select results_eq($$ select rank, outcome from outcomes order by rank $$,
  $$ select r, 'refused NX403' from unnest(enum_range(null::public.rank)) r $$,
  'no other member, of any rank, releases another member''s responder');

-- service_role: operators cancel a flare, they do not pick its responder
select tests.authenticate_as_service();
select throws_ok($$ select public.release_rescue_flare((select id from flare)) $$, '42501', null, 'service_role cannot release a responder');
reset role;

select results_eq($$ select status, responder_id from public.rescue_flares where id = (select id from flare) $$,
  $$ values ('ACKNOWLEDGED'::public.flare_status, tests.member('griefer')) $$, 'after every refused release the griefer is still its responder');
select is((select count(*)::int from nexus_private.audit_log where action = 'flare.released'), 0, 'and nothing was audited');

-- the requester releases
select tests.authenticate_as(tests.member('requester'));
create temp table released on commit drop as select * from public.release_rescue_flare((select id from flare));
reset role;
select results_eq($$ select status, responder_id, acknowledged_at from released $$,
  $$ values ('OPEN'::public.flare_status, null::uuid, null::timestamptz) $$, 'the flare is OPEN again, with no responder');
select results_eq($$ select status, responder_id, acknowledged_at from public.rescue_flares where id = (select id from flare) $$,
  $$ select status, responder_id, acknowledged_at from released $$, 'as stored');
select results_eq($$ select actor_id, actor_role, details from nexus_private.audit_log where action = 'flare.released' $$,
  $$ values (tests.member('requester'), 'authenticated', jsonb_build_object('flare_id', (select id from flare), 'responder_id', tests.member('griefer'))) $$,
  'the release is audited: who released whom from which flare');
select is((select payload - 'createdAt' from public.notification_queue where type = 'FLARE_RELEASED' and user_id = tests.member('griefer')),
  jsonb_build_object('type', 'FLARE_RELEASED', 'flareId', (select id from flare), 'location', 'Stanton III - Crusader',
    'flareType', 'MEDICAL', 'status', 'OPEN', 'requesterId', tests.member('requester'), 'requesterCallsign', 'requester',
    'tag', 'flare-' || (select id from flare), 'title', 'Released from a flare',
    'body', 'requester released you from their medical flare at Stanton III - Crusader: you need not go'),
  'the released responder is told, once, that they need not go');
select is((select count(*)::int from public.notification_queue where type = 'FLARE_RELEASED'), 1, 'nobody else is paged');

-- the released responder cannot take it again, and it stays OPEN for someone else
select tests.authenticate_as(tests.member('griefer'));
select throws_ok($$ select public.acknowledge_rescue_flare((select id from flare)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'the released responder may not acknowledge that flare again');
select is(tests.error_detail($$ select public.acknowledge_rescue_flare((select id from flare)) $$),
  'the requester released you from this flare; you may not answer it again', 'and is told why');
select throws_ok($$ select public.release_rescue_flare((select id from flare)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'nor release it');
reset role;
select is((select status from public.rescue_flares where id = (select id from flare)), 'OPEN'::public.flare_status, 'the flare is still OPEN');

-- a real responder answers; the requester is paged again, for this responder
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select is((public.acknowledge_rescue_flare((select id from flare))).responder_id, auth.uid(), 'another member answers the released flare');
reset role;
select results_eq($$ select payload->>'responderCallsign' from public.notification_queue
                     where type = 'FLARE_ACKNOWLEDGED' and user_id = tests.member('requester') order by id $$,
  $$ values ('griefer'), ('test-voyager') $$, 'the requester is told who answered, each time someone new does');

-- a second release; the released member is still refused even while someone else holds it
select tests.authenticate_as(tests.member('requester'));
select is((public.release_rescue_flare((select id from flare))).status, 'OPEN'::public.flare_status, 'a second responder can be released too');
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select public.acknowledge_rescue_flare((select id from flare)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'the second released responder may not come back either');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select public.acknowledge_rescue_flare((select id from flare)) $$, 'a third member answers');
reset role;

-- releases fire nothing: at FLARE_MAX_PER_HOUR = 2, after two releases the requester may still fire a second flare
select tests.authenticate_as(tests.member('requester'));
select is((public.resolve_rescue_flare((select id from flare))).status, 'RESOLVED'::public.flare_status, 'the requester resolves it');
select throws_ok($$ select public.release_rescue_flare((select id from flare)) $$, 'NX409', 'CONFLICT',
  'a resolved flare has no responder to release');
select lives_ok($$ select public.fire_rescue_flare('Hurston', 'FUEL') $$, 'two releases did not count against a limit of 2 flares an hour');
select public.cancel_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid() and status = 'OPEN';
select throws_ok($$ select public.fire_rescue_flare('Hurston', 'FUEL') $$, 'NX429', 'RATE_LIMITED', 'the limit itself still holds');
reset role;

-- the release is for that flare: the griefer may answer the requester's next one (a new call, a new chance)
select set_config('nexus.flare_max_per_hour', '', true);
select tests.fire_flare(tests.member('requester'), 'Hurston', 'FUEL');
select tests.authenticate_as(tests.member('griefer'));
select lives_ok($$ select public.acknowledge_rescue_flare(id) from public.rescue_flares where requester_id = tests.member('requester') and status = 'OPEN' $$,
  'a release bars its responder from that flare only');
reset role;

-- a responder whose profile was deleted since (responder_id set null, the flare still ACKNOWLEDGED): the requester
-- can still reopen it (review 7: the release used to fail on the null it tried to record)
select tests.authenticate_as(tests.member('requester'));
select public.cancel_rescue_flare(id) from public.rescue_flares where requester_id = auth.uid() and status in ('OPEN', 'ACKNOWLEDGED');
reset role;
select tests.fire_flare(tests.member('requester'), 'Daymar', 'REPAIR');
select tests.authenticate_as(tests.create_user('Vanisher', 'SCOUT'));
select public.acknowledge_rescue_flare(id) from public.rescue_flares where requester_id = tests.member('requester') and status = 'OPEN';
reset role;
delete from public.profiles where callsign = 'Vanisher';
select tests.authenticate_as(tests.member('requester'));
select is((public.release_rescue_flare((select id from public.rescue_flares where requester_id = auth.uid() and status = 'ACKNOWLEDGED'))).status,
  'OPEN'::public.flare_status, 'a flare whose responder was deleted is released all the same');
reset role;

select * from finish();
rollback;

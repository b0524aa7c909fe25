begin;
select plan(13);

select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VAGRANT');
select tests.user_of_rank('VOYAGER');
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/requester-phone');
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/requester-laptop');

select tests.authenticate_as(tests.user_of_rank('SCOUT'));
create temporary table flare on commit drop as select * from public.fire_rescue_flare('Stanton III - Crusader', 'MEDICAL');
grant select on flare to public;

select throws_ok($$ select public.acknowledge_rescue_flare((select id from flare)) $$, 'NX409', 'CONFLICT',
  'the requester cannot answer their own flare');
select throws_ok($$ select public.acknowledge_rescue_flare(gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'answering a flare that does not exist is NOT_FOUND');

reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is((public.acknowledge_rescue_flare((select id from flare))).status, 'ACKNOWLEDGED'::public.flare_status,
  'any other member, a VAGRANT too, may answer an OPEN flare');
select is((select responder_id from public.rescue_flares where id = (select id from flare)), auth.uid(),
  'the one who answered is its responder');
select lives_ok($$ select public.acknowledge_rescue_flare((select id from flare)) $$,
  'answering again as the same responder changes nothing');

reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select public.acknowledge_rescue_flare((select id from flare)) $$, 'NX409', 'CONFLICT',
  'a flare already answered cannot be answered by a second responder');

reset role;
select is((select count(*)::int from public.notification_queue
            where type = 'FLARE_ACKNOWLEDGED' and user_id = tests.user_of_rank('SCOUT')), 2,
  'the requester is paged on each of their devices, once, however often the responder answered');
select is((select payload - 'createdAt' - 'acknowledgedAt' from public.notification_queue
            where type = 'FLARE_ACKNOWLEDGED' and subscription_id = (select id from public.push_subscriptions where endpoint = 'https://push.tests.invalid/requester-phone')),
  jsonb_build_object('type', 'FLARE_ACKNOWLEDGED', 'flareId', (select id from flare), 'location', 'Stanton III - Crusader',
    'flareType', 'MEDICAL', 'status', 'ACKNOWLEDGED', 'requesterId', tests.user_of_rank('SCOUT'), 'requesterCallsign', 'test-scout',
    'responderId', tests.user_of_rank('VAGRANT'), 'responderCallsign', 'test-vagrant', 'tag', 'flare-' || (select id from flare),
    'title', 'Help is on the way', 'body', 'test-vagrant answered your medical flare at Stanton III - Crusader'),
  'the page says which flare, who answered, where and what kind');
select is((select count(*)::int from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
            where t.identifier = 'push__deliver'
              and (j.payload->'ids')::jsonb @> (select jsonb_agg(id) from public.notification_queue where type = 'FLARE_ACKNOWLEDGED')), 1,
  'one delivery job carries the requester''s pages');

-- Resolving and cancelling: the requester's, while active.
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select public.resolve_rescue_flare((select id from flare)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'only the requester may resolve their flare');
select throws_ok($$ select public.cancel_rescue_flare((select id from flare)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'only the requester may cancel their flare');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is((public.resolve_rescue_flare((select id from flare))).status, 'RESOLVED'::public.flare_status,
  'the requester resolves their flare');
select throws_ok($$ select public.cancel_rescue_flare((select id from flare)) $$, 'NX409', 'CONFLICT',
  'a resolved flare cannot be cancelled');

select * from finish();
rollback;

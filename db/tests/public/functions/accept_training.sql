begin;
select plan(27);

select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('mentor', 'SCOUT');
select tests.create_user('other-mentor', 'PIONEER');
select tests.create_user('piloting-mentor', 'PIONEER');
-- the cadet mentors mining too: certification does not let anyone accept their own request
select tests.certify(tests.member('cadet'), tests.skill('Mining'));
select tests.certify(tests.member('mentor'), tests.skill('Mining'));
select tests.certify(tests.member('other-mentor'), tests.skill('Mining'));
select tests.certify(tests.member('piloting-mentor'), tests.skill('Hammerhead piloting'));
select tests.subscribe(tests.member('cadet'), 'https://push.tests.invalid/cadet-phone');
select tests.request_training(tests.member('cadet'), tests.skill('Mining'));
create temporary table req on commit drop as
  select id from public.academy_requests where cadet_id = tests.member('cadet');
grant select on req to public;

-- who may not accept
select tests.clear_authentication();
select throws_ok($$ select public.accept_training((select id from req)) $$, '42501', null, 'anon cannot accept a request');
reset role;
select tests.authenticate_as(tests.member('cadet'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a cadet cannot accept their own request, even when certified for the skill');
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a VAGRANT who mentors nothing cannot accept');
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'an AFFILIATE who mentors nothing cannot accept');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a SCOUT who mentors nothing cannot accept');
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a VOYAGER who mentors nothing cannot accept');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a FOUNDER who does not mentor the skill cannot accept: rank is not a certification');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a PIONEER who does not mentor the skill cannot accept');
select tests.authenticate_as(tests.member('piloting-mentor'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a mentor of another skill cannot accept');
select throws_ok($$ select public.accept_training(gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'accepting a request that does not exist is NOT_FOUND');
reset role;
select is((select status from public.academy_requests where id = (select id from req)), 'PENDING'::public.academy_request_status,
  'after every refusal the request is still PENDING');

-- a certified mentor accepts
select tests.authenticate_as(tests.member('mentor'));
create temporary table accepted on commit drop as select * from public.accept_training((select id from req));
reset role;
select is((select count(*)::int from accepted), 1, 'accepting returns one grant: the mentor''s own, never the cadet''s');
select is((select row(participant, member_id, can_publish, can_subscribe, room_admin, for_request)::text from accepted),
  row('MENTOR', tests.member('mentor'), true, true, true, (select id from req))::text,
  'the mentor may speak, listen and administer the room');
select matches((select sim_pod from accepted), '^sim-pod-[0-9a-f]{32}$', 'the sim pod id is sim-pod- and 32 hex digits');
select is((select room from accepted), (select sim_pod from accepted), 'the pod''s LiveKit room is named after the pod');
select is((select row(status, mentor_id, sim_pod_id, accepted_at is not null)::text from public.academy_requests where id = (select id from req)),
  row('ACCEPTED'::public.academy_request_status, tests.member('mentor'), (select sim_pod from accepted), true)::text,
  'the request is ACCEPTED, with its mentor, its sim pod and when');
select is((select row(request_id, room_name, expires_at - created_at)::text from public.sim_pods where id = (select sim_pod from accepted)),
  row((select id from req), (select room from accepted), interval '2 hours')::text,
  'the sim pod belongs to the request and expires two hours after it is made');
select is((select expires from accepted), (select expires_at from public.sim_pods where id = (select sim_pod from accepted)),
  'the grant carries the pod''s expiry');

-- the cadet is paged
select is((select count(*)::int from public.notification_queue where type = 'SIM_POD_READY' and user_id = tests.member('cadet')), 1,
  'the cadet is paged on their device');
select is((select payload - 'expiresAt' from public.notification_queue where type = 'SIM_POD_READY'),
  jsonb_build_object('type', 'SIM_POD_READY', 'requestId', (select id from req), 'status', 'ACCEPTED',
    'skillId', tests.skill('Mining'), 'skillName', 'Mining', 'cadetId', tests.member('cadet'), 'cadetCallsign', 'cadet',
    'mentorId', tests.member('mentor'), 'mentorCallsign', 'mentor', 'simPodId', (select sim_pod from accepted),
    'roomName', (select room from accepted), 'tag', 'academy-' || (select id from req),
    'title', 'Your mentor is ready', 'body', 'mentor is waiting for you in a sim pod to teach Mining'),
  'the page says which sim pod, who is waiting and what for, and carries no token');
select is((select count(*)::int from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
            where t.identifier = 'push__deliver'
              and (j.payload->'ids')::jsonb @> (select jsonb_agg(id) from public.notification_queue where type = 'SIM_POD_READY')), 1,
  'a delivery job carries the page, queued in the accepting transaction');
select is((select details from nexus_private.audit_log where action = 'academy_request.accepted' and actor_id = tests.member('mentor')),
  jsonb_build_object('request_id', (select id from req), 'sim_pod_id', (select sim_pod from accepted), 'skill_id', tests.skill('Mining')),
  'the accept is audited');

-- only PENDING requests are accepted
select tests.authenticate_as(tests.member('other-mentor'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX409', 'CONFLICT',
  'a second mentor cannot accept a request already ACCEPTED');
select tests.authenticate_as(tests.member('mentor'));
select throws_ok($$ select public.accept_training((select id from req)) $$, 'NX409', 'CONFLICT',
  'accepting again is a CONFLICT too: the mentor joins the pod with join_sim_pod instead');
select tests.authenticate_as(tests.member('cadet'));
select public.cancel_training((select id from req));
create temporary table cancelled on commit drop as select tests.request_training(tests.member('cadet'), tests.skill('Mining')) as id;
select public.cancel_training((select id from cancelled));
select tests.authenticate_as(tests.member('other-mentor'));
select throws_ok($$ select public.accept_training((select id from cancelled)) $$,
  'NX409', 'CONFLICT', 'a CANCELLED request cannot be accepted');
reset role;
select is((select count(*)::int from public.sim_pods), 1, 'refused accepts make no sim pod');
select is((select count(*)::int from public.notification_queue where type = 'SIM_POD_READY'), 1, 'refused accepts page nobody');

select * from finish();
rollback;

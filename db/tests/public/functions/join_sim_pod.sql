begin;
select plan(13);

select tests.create_skill('Mining');
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('mentor', 'SCOUT');
select tests.create_user('other-mentor', 'VOYAGER');
select tests.user_of_rank('PIONEER');
select tests.certify(tests.member('mentor'), tests.skill('Mining'));
select tests.certify(tests.member('other-mentor'), tests.skill('Mining'));
create temporary table req on commit drop as select tests.request_training(tests.member('cadet'), tests.skill('Mining')) as id;
grant select on req to public;
select tests.authenticate_as(tests.member('mentor'));
create temporary table pod on commit drop as select sim_pod as id from public.accept_training((select id from req));
grant select on pod to public;

-- the cadet and the mentor, each with their own grant
select tests.authenticate_as(tests.member('cadet'));
select is((select row(sim_pod, room, participant, member_id, callsign, rank, can_publish, can_subscribe, room_admin)::text
             from public.join_sim_pod((select id from pod))),
  row((select id from pod), (select id from pod), 'CADET', tests.member('cadet'), 'cadet', 'VAGRANT'::public.rank, true, true, false)::text,
  'the cadet joins the pod: speaks and listens, does not administer the room');
select tests.authenticate_as(tests.member('mentor'));
select is((select row(participant, member_id, can_publish, can_subscribe, room_admin)::text from public.join_sim_pod((select id from pod))),
  row('MENTOR', tests.member('mentor'), true, true, true)::text,
  'the mentor joins the pod: speaks, listens and administers the room');
select is((select count(*)::int from public.join_sim_pod((select id from pod))), 1, 'a member gets their own grant and nobody else''s');

-- nobody else
select tests.clear_authentication();
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, '42501', null, 'anon cannot join a sim pod');
reset role;
select tests.authenticate_as(tests.member('other-mentor'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'another mentor of the skill cannot join someone else''s sim pod');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a PIONEER cannot join someone else''s sim pod: rank opens no pod');
select throws_ok($$ select * from public.join_sim_pod('sim-pod-00000000000000000000000000000000') $$, 'NX404', 'NOT_FOUND',
  'joining a sim pod that does not exist is NOT_FOUND');

-- an expired pod hands out nothing
reset role;
update public.sim_pods set created_at = now() - interval '3 hours', expires_at = now() - interval '1 hour' where id = (select id from pod);
select tests.authenticate_as(tests.member('cadet'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX404', 'NOT_FOUND',
  'the cadet cannot join an expired pod');
select tests.authenticate_as(tests.member('mentor'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX404', 'NOT_FOUND',
  'the mentor cannot join an expired pod');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX404', 'NOT_FOUND',
  'an expired pod is NOT_FOUND for everyone');

-- a pod whose training is over is closed even before its expiry
reset role;
update public.sim_pods set created_at = now(), expires_at = now() + interval '2 hours' where id = (select id from pod);
update public.academy_requests set status = 'COMPLETED', completed_at = now() where id = (select id from req);
select tests.authenticate_as(tests.member('cadet'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX404', 'NOT_FOUND',
  'a pod whose training is COMPLETED is closed');

-- and a pod closed by completion cannot be joined
reset role;
update public.academy_requests set status = 'ACCEPTED', completed_at = null where id = (select id from req);
select tests.authenticate_as(tests.member('mentor'));
select lives_ok($$ select public.complete_training((select id from req)) $$, 'the mentor completes the training');
select tests.authenticate_as(tests.member('mentor'));
select throws_ok($$ select * from public.join_sim_pod((select id from pod)) $$, 'NX404', 'NOT_FOUND',
  'after complete_training the pod is NOT_FOUND for its mentor too');

select * from finish();
rollback;

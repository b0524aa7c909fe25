begin;
select plan(19);

select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;
select tests.create_user('mentor', 'SCOUT');
select tests.certify(tests.member('mentor'), tests.skill('Mining'));

-- anon
select tests.clear_authentication();
select throws_ok($$ select public.request_training(tests.skill('Mining')) $$, '42501', null, 'anon cannot request training');

-- any member, every rank
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is((select row(r.cadet_id, r.skill_id, r.status, r.mentor_id, r.sim_pod_id)::text from public.request_training(tests.skill('Mining')) r),
  row(tests.user_of_rank('VAGRANT'), tests.skill('Mining'), 'PENDING'::public.academy_request_status, null::uuid, null::text)::text,
  'a VAGRANT asks to be taught: the request is theirs, PENDING, with no mentor and no sim pod yet');
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'an AFFILIATE may request training');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'a SCOUT may request training');
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'a VOYAGER may request training');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'a FOUNDER may request training');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'a PIONEER may request training');

-- one open request per skill per cadet
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.request_training(tests.skill('Mining')) $$, 'NX409', 'CONFLICT',
  'a second PENDING request for the same skill is a CONFLICT');
select lives_ok($$ select public.request_training(tests.skill('Hammerhead piloting')) $$,
  'a request for another skill is fine');
select throws_ok($$ select public.request_training(gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'requesting a skill that does not exist is NOT_FOUND');
select throws_ok($$ select public.request_training(null) $$, 'NX400', 'BAD_REQUEST', 'a request names its skill');

-- ACCEPTED is still open; CANCELLED is not
select tests.authenticate_as(tests.member('mentor'));
select public.accept_training((select id from public.academy_requests where cadet_id = tests.user_of_rank('VAGRANT') and skill_id = tests.skill('Mining')));
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.request_training(tests.skill('Mining')) $$, 'NX409', 'CONFLICT',
  'while a request for the skill is ACCEPTED, asking again is a CONFLICT');
select public.cancel_training((select id from public.academy_requests where cadet_id = auth.uid() and skill_id = tests.skill('Mining')));
select is((public.request_training(tests.skill('Mining'))).status, 'PENDING'::public.academy_request_status,
  'after cancelling, the cadet may ask again');

reset role;
select is((select count(*)::int from public.academy_requests where cadet_id = tests.user_of_rank('VAGRANT')), 3,
  'refused requests leave no row');
select is((select count(*)::int from nexus_private.audit_log where action = 'academy_request.requested' and actor_id = tests.user_of_rank('VAGRANT')), 3,
  'each request is audited');

-- At most nexus.academy_requests_per_day a day per cadet, cancelled ones included (no ask-and-cancel loop)
reset role;
select set_config('nexus.academy_requests_per_day', '3', true);
select tests.create_user('churner', 'SCOUT');
select tests.authenticate_as(tests.member('churner'));
select public.cancel_training((public.request_training(tests.skill('Mining'))).id) from generate_series(1, 3);
select throws_ok($$ select public.request_training(tests.skill('Mining')) $$, 'NX429', 'RATE_LIMITED',
  'the fourth request of the day is RATE_LIMITED, though the first three were cancelled');
select tests.create_user('steady', 'SCOUT');
select tests.authenticate_as(tests.member('steady'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'another cadet is not held by it');
reset role;
update public.academy_requests set created_at = created_at - interval '25 hours' where cadet_id = tests.member('churner');
select tests.authenticate_as(tests.member('churner'));
select lives_ok($$ select public.request_training(tests.skill('Mining')) $$, 'a day later the cadet may ask again');
reset role;
select is((select count(*)::int from public.academy_requests where cadet_id = tests.member('churner') and created_at > now() - interval '1 day'), 1,
  'the refused request left no row');
select set_config('nexus.academy_requests_per_day', '', true);

select * from finish();
rollback;

begin;
select plan(14);

select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.create_user('cadet-a', 'VAGRANT');
select tests.create_user('cadet-b', 'AFFILIATE');
select tests.create_user('mining-mentor', 'SCOUT');
select tests.create_user('other-mining-mentor', 'VOYAGER');
select tests.create_user('piloting-mentor', 'VOYAGER');
select tests.user_of_rank('PIONEER');

select tests.certify(tests.member('mining-mentor'), tests.skill('Mining'));
select tests.certify(tests.member('other-mining-mentor'), tests.skill('Mining'));
select tests.certify(tests.member('piloting-mentor'), tests.skill('Hammerhead piloting'));
select tests.request_training(tests.member('cadet-a'), tests.skill('Mining'));
select tests.request_training(tests.member('cadet-b'), tests.skill('Hammerhead piloting'));

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.academy_requests $$, '42501', null, 'anon cannot read training requests');

-- a cadet sees their own requests only
reset role;
select tests.authenticate_as(tests.member('cadet-a'));
select results_eq($$ select cadet_id, skill_id, status from public.academy_requests $$,
  $$ values (tests.member('cadet-a'), tests.skill('Mining'), 'PENDING'::public.academy_request_status) $$,
  'a cadet sees their own request and not another cadet''s');

-- a member who mentors nothing sees no one's requests, whatever their rank
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is_empty($$ select * from public.academy_requests $$,
  'a PIONEER who mentors nothing does not see other cadets'' requests');

-- a mentor sees the PENDING requests in the skills they mentor, and no others
reset role;
select tests.authenticate_as(tests.member('mining-mentor'));
select results_eq($$ select cadet_id from public.academy_requests $$, $$ values (tests.member('cadet-a')) $$,
  'a mining mentor sees the PENDING mining request, not the piloting one');

-- once accepted, the request belongs to its cadet and its mentor
select lives_ok($$ select public.accept_training((select id from public.academy_requests where cadet_id = tests.member('cadet-a'))) $$,
  'the mining mentor accepts the mining request');
select results_eq($$ select cadet_id, status from public.academy_requests $$,
  $$ values (tests.member('cadet-a'), 'ACCEPTED'::public.academy_request_status) $$,
  'the mentor who accepted still sees the request');
reset role;
select tests.authenticate_as(tests.member('other-mining-mentor'));
select is_empty($$ select * from public.academy_requests $$,
  'another mentor of the skill no longer sees a request once it is taken');

-- nobody writes the table around the functions: not the cadet, not the mentor, not a PIONEER
reset role;
select tests.authenticate_as(tests.member('cadet-a'));
select throws_ok($$ update public.academy_requests set status = 'COMPLETED', completed_at = now() where cadet_id = auth.uid() $$,
  '42501', null, 'a cadet cannot change their request directly');
select throws_ok(format($$ insert into public.academy_requests (cadet_id, skill_id) values (%L, %L) $$,
                        tests.member('cadet-a'), tests.skill('Hammerhead piloting')),
  '42501', null, 'a cadet cannot insert a request directly (request_training checks and audits)');
reset role;
select tests.authenticate_as(tests.member('mining-mentor'));
select throws_ok($$ delete from public.academy_requests $$, '42501', null, 'a mentor cannot delete a request');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ update public.academy_requests set mentor_id = auth.uid() $$, '42501', null,
  'a PIONEER cannot take a request over directly');

-- the table holds its rules on its own
reset role;
select throws_ok(format($$ insert into public.academy_requests (cadet_id, skill_id) values (%L, %L) $$,
                        tests.member('cadet-a'), tests.skill('Mining')),
  '23505', null, 'a second open request for one skill by one cadet is refused by the table itself');
select throws_ok(format($$ insert into public.academy_requests (cadet_id, skill_id, status, mentor_id, accepted_at) values (%L, %L, 'ACCEPTED', %L, now()) $$,
                        tests.member('mining-mentor'), tests.skill('Hammerhead piloting'), tests.member('mining-mentor')),
  '23514', null, 'a cadet is never their own mentor, even in a row written by hand');
select throws_ok(format($$ insert into public.academy_requests (cadet_id, skill_id, status) values (%L, %L, 'COMPLETED') $$,
                        tests.member('cadet-b'), tests.skill('Mining')),
  '23514', null, 'a request is not completed without having been accepted and given a completion time');

select * from finish();
rollback;

begin;
select plan(8);

select tests.create_skill('Mining');
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('mentor', 'SCOUT');
select tests.create_user('other-mentor', 'VOYAGER');
select tests.user_of_rank('PIONEER');
select tests.certify(tests.member('mentor'), tests.skill('Mining'));
select tests.certify(tests.member('other-mentor'), tests.skill('Mining'));
select tests.authenticate_as(tests.member('mentor'));
select public.accept_training(tests.request_training(tests.member('cadet'), tests.skill('Mining')));

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.sim_pods $$, '42501', null, 'anon cannot read sim pods');

-- the pod's cadet and mentor see it
reset role;
select tests.authenticate_as(tests.member('cadet'));
select is((select count(*)::int from public.sim_pods), 1, 'the cadet sees their sim pod');
reset role;
select tests.authenticate_as(tests.member('mentor'));
select is((select count(*)::int from public.sim_pods), 1, 'the mentor sees the sim pod they made');

-- nobody else, whatever their rank or certification
reset role;
select tests.authenticate_as(tests.member('other-mentor'));
select is_empty($$ select * from public.sim_pods $$, 'another mentor of the skill does not see the pod');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is_empty($$ select * from public.sim_pods $$, 'a PIONEER does not see other members'' pods');

-- nobody writes pods around the functions
reset role;
select tests.authenticate_as(tests.member('mentor'));
select throws_ok($$ update public.sim_pods set expires_at = now() + interval '1 year' $$, '42501', null,
  'the mentor cannot extend the pod''s life');
select throws_ok($$ delete from public.sim_pods $$, '42501', null, 'the mentor cannot delete the pod');
reset role;
select tests.authenticate_as(tests.member('cadet'));
select throws_ok(format($$ insert into public.sim_pods (id, room_name, request_id, expires_at)
                          values ('sim-pod-00000000000000000000000000000000', 'sim-pod-00000000000000000000000000000000', %L, now() + interval '1 hour') $$,
                        (select request_id from public.sim_pods limit 1)),
  '42501', null, 'a cadet cannot make a pod of their own');

select * from finish();
rollback;

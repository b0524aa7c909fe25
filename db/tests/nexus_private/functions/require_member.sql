begin;
select plan(11);

select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is(nexus_private.require_member('bridge nets'), tests.user_of_rank('VAGRANT'),
  'a VAGRANT is a member: require_member returns their id');
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select is(nexus_private.require_member('bridge nets'), tests.user_of_rank('AFFILIATE'), 'so is an AFFILIATE');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select is(nexus_private.require_member('bridge nets'), tests.user_of_rank('SCOUT'), 'so is a SCOUT');
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select is(nexus_private.require_member('bridge nets'), tests.user_of_rank('VOYAGER'), 'so is a VOYAGER');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is(nexus_private.require_member('bridge nets'), tests.user_of_rank('FOUNDER'), 'so is a FOUNDER');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is(nexus_private.require_member('bridge nets'), tests.user_of_rank('PIONEER'), 'so is a PIONEER');

select tests.clear_authentication();
select throws_ok($$ select nexus_private.require_member('bridge nets') $$, 'NX401', 'UNAUTHENTICATED',
  'anon is not a member: UNAUTHENTICATED');
select is(tests.error_detail($$ select nexus_private.require_member('bridge nets') $$), 'sign in to bridge nets',
  'the refusal completes the sentence with the action');

select tests.authenticate_as(gen_random_uuid());
select throws_ok($$ select nexus_private.require_member('bridge nets') $$, 'NX401', 'UNAUTHENTICATED',
  'a signed JWT whose sub names no profile (a deleted member) is not a member');

select tests.authenticate_as_service();
select throws_ok($$ select nexus_private.require_member('bridge nets') $$, 'NX401', 'UNAUTHENTICATED',
  'service_role is not a member either: functions that let operators through say so themselves (require_rank)');

-- A sub names a member only on a member's (authenticated) token: a service_role JWT that carries one names no one.
reset role;
select set_config('request.jwt.claims', json_build_object('sub', tests.user_of_rank('SCOUT'), 'role', 'service_role')::text, true);
set local role service_role;
select throws_ok($$ select nexus_private.require_member('bridge nets') $$, 'NX401', 'UNAUTHENTICATED',
  'a service_role JWT naming a member is not that member');

select * from finish();
rollback;

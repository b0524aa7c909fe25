begin;
select plan(15);

-- The gate FOUNDER+ (bridging nets, revoking mentor certifications), for every rank.
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a VAGRANT is below FOUNDER: INSUFFICIENT_CLEARANCE');
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'so is an AFFILIATE');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'so is a SCOUT');
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'so is a VOYAGER, one step below');
select is(tests.error_detail($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$),
  'only FOUNDER or above may bridge nets; you are VOYAGER',
  'the refusal names the rank needed, the action and the caller''s rank');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'a FOUNDER passes');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'a PIONEER passes');

select tests.clear_authentication();
select throws_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'NX401', 'UNAUTHENTICATED',
  'anon is refused as not signed in, before any rank is compared');
select tests.authenticate_as(gen_random_uuid());
select throws_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'NX401', 'UNAUTHENTICATED',
  'a JWT whose sub names no profile is refused the same way');
select tests.authenticate_as_service();
select lives_ok($$ select nexus_private.require_rank('FOUNDER', 'bridge nets') $$, 'service_role (operators) passes');
select lives_ok($$ select nexus_private.require_rank('PIONEER', 'bridge nets') $$, 'whatever the rank asked for');

-- The minimum is the one asked for (SCOUT+: firing a rescue flare).
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select nexus_private.require_rank('SCOUT', 'fire a rescue flare') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'an AFFILIATE is below SCOUT');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select nexus_private.require_rank('SCOUT', 'fire a rescue flare') $$, 'a SCOUT is not');
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select lives_ok($$ select nexus_private.require_rank('VAGRANT', 'fire a rescue flare') $$, 'and VAGRANT+ lets every member through');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select nexus_private.require_rank('PIONEER', 'bridge nets') $$, 'a PIONEER passes a PIONEER-only gate');
select * from finish();
rollback;

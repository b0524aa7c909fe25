begin;
select plan(12);

-- A bucket of 3 registrations that refills 36 an hour (one every 100 s).
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select set_config('nexus.push_registration_burst', '3', true);
select set_config('nexus.push_registrations_per_hour', '36', true);

-- Refused input charges nothing: the refusal rolls the charge back with it.
select throws_ok($$ select public.subscribe_push('http://push.tests.invalid/plain', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'a bad endpoint is refused as before');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/a', 'p256dh-key-here', tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'a bad key is refused as before');

select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/phone', tests.push_p256dh(), tests.push_auth()) $$,
  'a member with a full bucket registers a device (the refusals above took nothing)');
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/phone', tests.push_p256dh(), tests.push_auth()) $$,
  'a refresh of the same device is a registration too');
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/laptop', tests.push_p256dh(), tests.push_auth()) $$,
  'the third fills the burst');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/tablet', tests.push_p256dh(), tests.push_auth()) $$,
  'NX429', 'RATE_LIMITED', 'past the burst: RATE_LIMITED');
select ok(tests.error_hint($$ select public.subscribe_push('https://push.tests.invalid/tablet', tests.push_p256dh(), tests.push_auth()) $$)
            ~ '^retry_after=(99|100)$',
  'the refusal says when the next registration refills (100 s at 36 an hour) in the hint retry_after=N');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/phone', tests.push_p256dh(), tests.push_auth()) $$,
  'NX429', 'RATE_LIMITED', 'a refresh of a registered device is refused too');
select lives_ok($$ select public.unsubscribe_push('https://push.tests.invalid/laptop') $$,
  'unsubscribing is not limited: a member can always stop notifications');

-- Moving an endpoint between two accounts of one person (an audit row each time) runs out as well.
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/phone', tests.push_p256dh(), tests.push_auth()) $$,
  'another member has a bucket of their own, and takes the endpoint over');
reset role;
select is((select count(*)::int from nexus_private.audit_log where action = 'push.subscription_moved'), 1,
  'the move is audited once');

-- 100 s later, one registration has refilled.
update nexus_private.rate_limit_buckets set refilled_at = refilled_at - interval '101 seconds'
 where user_id = tests.user_of_rank('SCOUT') and action = 'push_registration';
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/tablet', tests.push_p256dh(), tests.push_auth()) $$,
  'one registration refills at the configured rate');

select * from finish();
rollback;

begin;
select plan(14);

select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VOYAGER');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));

-- Validation: a clear BAD_REQUEST, and nothing stored.
select throws_ok($$ select public.subscribe_push('http://push.tests.invalid/plain', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'an endpoint that is not https is refused');
select throws_ok($$ select public.subscribe_push('https://user:pw@push.tests.invalid/x', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'an endpoint with credentials in it is refused');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/a', 'p256dh-key-here', tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'a p256dh that is not a key is refused (the runbook''s placeholder)');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/a',
                      -- a 65-byte 0x04 string whose last byte is off by one: not on the curve
                      rtrim(translate(encode(set_byte(decode(translate(tests.push_p256dh(), '-_', '+/') || '=', 'base64'), 64, 0), 'base64'), '+/', '-_'), '='),
                      tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'a p256dh of the right length that is not a point on P-256 is refused');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/a',
                      rtrim(translate(encode(decode(translate(tests.push_p256dh(), '-_', '+/') || '=', 'base64') || '\x00'::bytea, 'base64'), '+/', '-_'), '='),
                      tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'a p256dh one byte too long is refused');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/a', tests.push_p256dh(), 'c2hvcnQ') $$,
  'NX400', 'BAD_REQUEST', 'an auth secret that is not 16 bytes is refused');
reset role;
select is_empty($$ select * from public.push_subscriptions $$, 'refused subscriptions store nothing');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));

-- Standard base64 with padding is accepted and stored as base64url.
select is((public.subscribe_push('https://push.tests.invalid/laptop',
             translate(tests.push_p256dh(), '-_', '+/') || '=', translate(tests.push_auth(), '-_', '+/') || '==')).p256dh,
          tests.push_p256dh(), 'keys in standard base64 are stored as base64url');

-- Re-subscribing refreshes; a device signing in as another member moves to them.
select public.subscribe_push('https://push.tests.invalid/laptop', tests.push_p256dh(), tests.push_auth());
reset role;
select is((select count(*)::int from public.push_subscriptions where endpoint = 'https://push.tests.invalid/laptop'), 1,
  'subscribing the same endpoint again keeps one row');
update public.push_subscriptions set failure_count = 3 where endpoint = 'https://push.tests.invalid/laptop';
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select is((public.subscribe_push('https://push.tests.invalid/laptop', tests.push_p256dh(), tests.push_auth())).user_id,
  tests.user_of_rank('VOYAGER'), 'an endpoint subscribed by another member moves to the caller');
reset role;
select is((select user_id from public.push_subscriptions where endpoint = 'https://push.tests.invalid/laptop'),
  tests.user_of_rank('VOYAGER'), 'the endpoint belongs to one member only');
select is((select failure_count from public.push_subscriptions where endpoint = 'https://push.tests.invalid/laptop'), 0,
  'a re-subscribed device starts with a clean failure count');
select is((select count(*)::int from nexus_private.audit_log where action = 'push.subscription_moved'), 1,
  'moving a device to another member is audited');

-- A member keeps at most push_devices_per_member() devices: the oldest go first.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select public.subscribe_push('https://push.tests.invalid/device-' || n, tests.push_p256dh(), tests.push_auth())
  from generate_series(1, 12) n;
select is((select count(*)::int from public.push_subscriptions), 10,
  'subscribing more devices than the cap keeps only the newest');

select * from finish();
rollback;

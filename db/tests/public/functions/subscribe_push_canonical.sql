begin;
select plan(9);

select is(nexus_private.canonical_push_endpoint('https://FCM.googleapis.com/fcm/send/AbC'), 'https://fcm.googleapis.com/fcm/send/AbC',
  'the host is lower-cased, the path kept as written');
select is(nexus_private.canonical_push_endpoint('https://fcm.googleapis.com:443/fcm/send/x'), 'https://fcm.googleapis.com/fcm/send/x',
  'the default port is left out');
select is(nexus_private.canonical_push_endpoint('https://fcm.googleapis.com:00443/fcm/send/x'), 'https://fcm.googleapis.com/fcm/send/x',
  'also with leading zeros');
select is(nexus_private.canonical_push_endpoint('https://push.tests.invalid:08443/x'), 'https://push.tests.invalid:8443/x',
  'another port is kept, without leading zeros');
select is(nexus_private.canonical_push_endpoint('https://[::FFFF:7F00:1]:443/x'), 'https://[::ffff:7f00:1]/x',
  'an IPv6 host is lower-cased too (and still refused by the allowed list)');
select is(nexus_private.canonical_push_endpoint('https://user@push.tests.invalid/x'), null, 'what is not an endpoint has no spelling');

-- A script registering one device under every spelling gets one row, paged once.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select public.subscribe_push(e, tests.push_p256dh(), tests.push_auth()) from unnest(array[
  'https://push.tests.invalid/Device-1', 'https://PUSH.tests.invalid/Device-1', 'https://push.tests.invalid:443/Device-1',
  'https://Push.Tests.Invalid:0443/Device-1']) e;
reset role;
select is((select array_agg(endpoint) from public.push_subscriptions), array['https://push.tests.invalid/Device-1'],
  'every spelling of one endpoint is one device');

-- Another member cannot hold a second copy under another spelling: it moves, as the same endpoint does.
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select public.subscribe_push('https://PUSH.TESTS.INVALID:443/Device-1', tests.push_p256dh(), tests.push_auth());
reset role;
select is((select array_agg(user_id) from public.push_subscriptions), array[tests.user_of_rank('VOYAGER')],
  'another spelling of a registered endpoint moves that device');

select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select is(public.unsubscribe_push('https://push.tests.invalid:443/Device-1'), true, 'unsubscribing by any spelling removes it');
reset role;

select * from finish();
rollback;

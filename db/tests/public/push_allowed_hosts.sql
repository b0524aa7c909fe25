begin;
select plan(71);

/*
 * The push services the worker may contact (the push_allowed_hosts migration). This database's sessions
 * allow push.tests.invalid (scripts/test.ts); the tests below set the list the way the server passes it.
 */
select tests.user_of_rank('SCOUT');

create function pg_temp.refused(endpoint text, allowed text) returns boolean language sql as $$
  select nexus_private.push_endpoint_refusal(endpoint, allowed) is not null
$$;

-- What a test deployment lists: its local push service on any port.
select ok(not pg_temp.refused('https://127.0.0.1:8443/push/a', '127.0.0.1:*'), 'a listed IP address on a listed port is allowed');
select ok(not pg_temp.refused('https://127.0.0.1/push/a', '127.0.0.1:*'), 'an explicit :* covers 443 too');
-- Loopback in all its spellings, even with 127.0.0.1 listed: an address matches only as it is listed.
select ok(pg_temp.refused(e, '127.0.0.1:*'), format('%s is refused', e)) from unnest(array[
  'https://localhost:8443/x',
  'https://localhost/x',
  'https://127.1:8443/x',
  'https://127.0.1/x',
  'https://2130706433/x',
  'https://0x7f000001/x',
  'https://0x7f.0.0.1/x',
  'https://0177.0.0.1/x',
  'https://127.000.000.001/x',
  'https://[::1]/x',
  'https://[::ffff:127.0.0.1]/x',
  'https://[::ffff:7f00:1]/x',
  'https://127.0.0.2/x',
  'https://127.0.0.1.nip.io/x'
]) e;
-- The private and link-local ranges and the cloud metadata service, with a permissive wildcard list.
select ok(pg_temp.refused(e, nexus_private.push_default_allowed_hosts() || ',*.tests.invalid:*'), format('%s is refused', e)) from unnest(array[
  'https://10.0.0.1/x',
  'https://10.255.255.255:9200/x',
  'https://172.16.0.1/x',
  'https://172.31.255.254/x',
  'https://192.168.1.1/x',
  'https://169.254.169.254/latest/meta-data/',
  'https://[fd00::1]/x',
  'https://[fe80::1]/x',
  'https://metadata.google.internal/x'
]) e;
-- Names that only look like an allowed one, and URL tricks that put another host behind it.
select ok(pg_temp.refused(e, nexus_private.push_default_allowed_hosts()), format('%s is refused', e)) from unnest(array[
  'https://fcm.googleapis.com.evil.example/fcm/send/a',
  'https://evilfcm.googleapis.com/fcm/send/a',
  'https://fcm.googleapis.com@127.0.0.1/fcm/send/a',
  'https://user:pw@fcm.googleapis.com/fcm/send/a',
  'https://127.0.0.1#@fcm.googleapis.com/fcm/send/a',
  'https://127.0.0.1\@fcm.googleapis.com/fcm/send/a',
  'https://127.0.0.1%2f@fcm.googleapis.com/a',
  'https://fcm.googleapis.com./fcm/send/a',
  'https://fcm.googleapis.com:8443/fcm/send/a',
  'https://fcm.googleapis.com:80/fcm/send/a',
  'https://fcm.googleapis.com:99999/fcm/send/a',
  'http://fcm.googleapis.com/fcm/send/a',
  'https://push.apple.com/x',
  'https://notify.windows.com/x'
]) e;
-- The default list: the browsers' push services, on 443.
select ok(not pg_temp.refused(e, nexus_private.push_default_allowed_hosts()), format('%s is allowed by default', e)) from unnest(array[
  'https://fcm.googleapis.com/fcm/send/abc',
  'https://FCM.googleapis.com:443/fcm/send/abc',
  'https://android.googleapis.com/gcm/send/abc',
  'https://updates.push.services.mozilla.com/wpush/v2/abc',
  'https://wns2-par02p.notify.windows.com/w/?token=abc',
  'https://web.push.apple.com/QGx',
  'https://api.sandbox.push.apple.com/x'
]) e;
select ok(not pg_temp.refused('https://push.example.org:8443/x', 'push.example.org:8443'), 'host:port allows that port');
select ok(pg_temp.refused('https://push.example.org/x', 'push.example.org:8443'), 'and not 443');
select ok(pg_temp.refused('https://1.2.3.4/x', '*.3.4:*'), 'a wildcard never matches an address');
select ok(pg_temp.refused('https://fcm.googleapis.com/x', 'fcm.googleapis.com/x,  ,nonsense entry'),
  'entries that are not well formed match nothing');

-- Operators' SQL inserts, as the superuser, are held to the same list.
select throws_ok($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
                    values (tests.user_of_rank('SCOUT'), 'https://169.254.169.254/latest', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'an operator''s insert of the metadata address is refused, as the superuser');
select throws_ok($$ select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://127.0.0.1:8443/push/a') $$,
  'NX400', 'BAD_REQUEST', 'loopback is refused to an operator while the session''s list does not name it');
set local nexus.push_allowed_hosts = '127.0.0.1:*';
select lives_ok($$ select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://127.0.0.1:8443/push/a') $$,
  'an operator who set the list to name the local push service may insert it');
select throws_ok($$ update public.push_subscriptions set endpoint = 'https://127.1:8443/push/a' where endpoint = 'https://127.0.0.1:8443/push/a' $$,
  'NX400', 'BAD_REQUEST', 'an update that moves an endpoint elsewhere is checked too');
select throws_ok($$ select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/a') $$,
  'NX400', 'BAD_REQUEST', 'a list that is set replaces the default and the database''s own');
reset nexus.push_allowed_hosts;

-- Members subscribing, and service_role, are refused the same way, and nothing is stored.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.subscribe_push('https://10.0.0.7/push/x', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'subscribePush refuses a private address');
select throws_ok($$ select public.subscribe_push('https://fcm.googleapis.com.evil.example/fcm/send/x', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'subscribePush refuses a look-alike name');
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/phone', tests.push_p256dh(), tests.push_auth()) $$,
  'subscribePush stores an allowed endpoint');
select tests.authenticate_as_service();
select throws_ok($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
                    values (tests.user_of_rank('SCOUT'), 'https://192.168.0.1/x', tests.push_p256dh(), tests.push_auth()) $$,
  'NX400', 'BAD_REQUEST', 'service_role''s insert is refused too');
reset role;
select is((select array_agg(endpoint order by endpoint) from public.push_subscriptions),
  array['https://127.0.0.1:8443/push/a', 'https://push.tests.invalid/phone'], 'refused endpoints store nothing');

-- The worker's question before every send: a device stored under an older list is never contacted.
select nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{}');
select is((select array_agg(endpoint order by endpoint) from nexus_private.push_deliveries_due(array(select id from public.notification_queue), 'push.tests.invalid')),
  array['https://push.tests.invalid/phone'], 'only the rows whose endpoint is allowed now are handed to the sender');
select is((select (q.failed_at is not null, q.last_error) from public.notification_queue q
             join public.push_subscriptions s on s.id = q.subscription_id where s.endpoint = 'https://127.0.0.1:8443/push/a'),
  (true, 'not sent: the push service 127.0.0.1:8443 is not on the allowed list (PUSH_ALLOWED_HOSTS)'::text),
  'the other is marked failed, with the reason');
select is((select (host, port) from nexus_private.push_deliveries_due(array(select id from public.notification_queue), 'push.tests.invalid')),
  ('push.tests.invalid'::text, 443), 'with the host and port the sender must connect to');

-- The list is asked once per host and port of a job: every row of a refused service fails, every row of an allowed
-- one is handed over, and a port that is not listed is another service.
set local nexus.push_allowed_hosts = '127.0.0.1:*,push.tests.invalid';
select tests.subscribe(tests.user_of_rank('SCOUT'), e) from unnest(array[
  'https://127.0.0.1:8443/push/b', 'https://127.0.0.1:9443/push/c', 'https://127.0.0.1:9443/push/d', 'https://push.tests.invalid/tablet']) e;
reset nexus.push_allowed_hosts;
delete from public.notification_queue;
select nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{}');
select is((select array_agg(endpoint order by endpoint) from nexus_private.push_deliveries_due(array(select id from public.notification_queue), '127.0.0.1:8443')),
  array['https://127.0.0.1:8443/push/a', 'https://127.0.0.1:8443/push/b'], 'a batch over four push services hands over the rows of the one allowed');
select is((select array_agg(s.endpoint order by s.endpoint) from public.notification_queue q join public.push_subscriptions s on s.id = q.subscription_id
            where q.failed_at is not null and q.last_error like 'not sent: the push service % is not on the allowed list (PUSH_ALLOWED_HOSTS)'),
  array['https://127.0.0.1:9443/push/c', 'https://127.0.0.1:9443/push/d', 'https://push.tests.invalid/phone', 'https://push.tests.invalid/tablet'],
  'and fails every row of the others, each with the reason');
select is_empty($$ select * from nexus_private.push_deliveries_due(array(select id from public.notification_queue), 'push.tests.invalid') $$,
  'a row failed once is not handed over when the list allows it again');

-- The question about a host and port is the one push_endpoint_refusal asks about an endpoint.
select is(nexus_private.push_target_refusal(null, null, '127.0.0.1:*'), 'the endpoint is not an https:// URL with a plain host name',
  'no host is refused');
select is(nexus_private.push_target_refusal('127.0.0.1', 8443, '127.0.0.1:8443'), null, 'a listed host and port is allowed');
select is(nexus_private.push_target_refusal('127.1', 443, '127.1,127.0.0.1:*'), 'the endpoint''s host 127.1 is an IPv4 address in a non-canonical form',
  'a host in a non-canonical IPv4 form is refused even when listed');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select nexus_private.push_target_refusal('127.0.0.1', 443, '127.0.0.1') $$, '42501', null,
  'a member cannot call the allowed-list question');
select throws_ok($$ select * from nexus_private.push_deliveries_due(array[1::bigint], '127.0.0.1:*') $$, '42501', null,
  'nor ask for rows to send with a list of their own');
reset role;

select * from finish();
rollback;

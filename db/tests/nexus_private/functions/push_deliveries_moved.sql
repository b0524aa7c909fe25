begin;
select plan(6);

-- A shared browser: SCOUT's phone is paged, then VOYAGER signs in on it and subscribes the same endpoint.
set local nexus.push_allowed_hosts = 'push.tests.invalid';
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/shared');
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/scout-own');
select is(nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{"for":"scout"}'), 2,
  'SCOUT is paged on both devices');

select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/shared', tests.push_p256dh(), tests.push_auth()) $$,
  'VOYAGER registers the shared browser: the endpoint moves to them');
reset role;

select is((select array_agg(endpoint order by endpoint) from nexus_private.push_deliveries_due(array(select id from public.notification_queue), 'push.tests.invalid')),
  array['https://push.tests.invalid/scout-own'],
  'only SCOUT''s own device is handed to the sender: SCOUT''s page never reaches the device VOYAGER now holds');
select is((select last_error from public.notification_queue q join public.push_subscriptions s on s.id = q.subscription_id
            where s.endpoint = 'https://push.tests.invalid/shared'),
  'the device was registered by another member before this was sent', 'the row left behind fails, saying why');
select isnt((select failed_at from public.notification_queue q join public.push_subscriptions s on s.id = q.subscription_id
              where s.endpoint = 'https://push.tests.invalid/shared'), null, 'and is not retried');

-- VOYAGER's own pages reach the device they now hold.
select nexus_private.enqueue_push(tests.user_of_rank('VOYAGER'), 'SIM_POD_READY', '{"for":"voyager"}');
select is((select array_agg(d.payload->>'for') from nexus_private.push_deliveries_due(array(select id from public.notification_queue), 'push.tests.invalid') d
            where d.endpoint = 'https://push.tests.invalid/shared'),
  array['voyager'], 'the device''s new member is paged on it');

select * from finish();
rollback;

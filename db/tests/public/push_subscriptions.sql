begin;
select plan(16);

select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VOYAGER');
select tests.subscribe(tests.user_of_rank('VOYAGER'), 'https://push.tests.invalid/voyager-phone');

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.push_subscriptions $$, '42501', null, 'anon cannot read push subscriptions');
select throws_ok($$ select public.subscribe_push('https://push.tests.invalid/anon', tests.push_p256dh(), tests.push_auth()) $$,
  '42501', null, 'anon cannot subscribe a device');

-- a member and their own device
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/scout-phone', tests.push_p256dh(), tests.push_auth()) $$,
  'a member subscribes their device');
select results_eq($$ select endpoint from public.push_subscriptions $$,
  $$ values ('https://push.tests.invalid/scout-phone') $$,
  'a member sees only their own devices, not other members''');
select results_eq($$ select user_id from public.push_subscriptions $$, $$ values (auth.uid()) $$,
  'the device is registered to the caller');

-- another member's device
select is_empty($$ delete from public.push_subscriptions where endpoint = 'https://push.tests.invalid/voyager-phone' returning id $$,
  'a member cannot delete another member''s device');
select is(public.unsubscribe_push('https://push.tests.invalid/voyager-phone'), false,
  'unsubscribe_push does not remove another member''s device');
reset role;
select is((select count(*)::int from public.push_subscriptions where endpoint = 'https://push.tests.invalid/voyager-phone'), 1,
  'the other member''s device is still there');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));

-- no writes around the function
select throws_ok($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
                    values (auth.uid(), 'https://push.tests.invalid/direct', tests.push_p256dh(), tests.push_auth()) $$,
  '42501', null, 'a member cannot insert a subscription directly');
select throws_ok($$ update public.push_subscriptions set user_id = tests.user_of_rank('VOYAGER') $$,
  '42501', null, 'a member cannot update a subscription (so cannot hand a device to someone else)');

-- their own delete
select isnt_empty($$ delete from public.push_subscriptions where endpoint = 'https://push.tests.invalid/scout-phone' returning id $$,
  'a member deletes their own device');
select lives_ok($$ select public.subscribe_push('https://push.tests.invalid/scout-phone', tests.push_p256dh(), tests.push_auth()) $$,
  'and may subscribe it again');
select is(public.unsubscribe_push('https://push.tests.invalid/scout-phone'), true, 'unsubscribe_push removes the caller''s device');
select is_empty($$ select * from public.push_subscriptions $$, 'after unsubscribing, the member has no device');

-- operators (superuser, the runbook's SQL editor habit)
reset role;
select lives_ok(format($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
                          values (%L, 'https://push.tests.invalid/operator', %L, %L) $$,
                       tests.user_of_rank('SCOUT'), tests.push_p256dh(), tests.push_auth()),
  'an operator may insert a subscription with the runbook''s four columns');
select throws_ok(format($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
                           values (%L, 'https://push.tests.invalid/typo', 'p256dh-key-here', 'auth-string-here') $$,
                        tests.user_of_rank('SCOUT')),
  '23514', null, 'even an operator cannot store keys that are not a P-256 point and a 16-byte secret');

select * from finish();
rollback;

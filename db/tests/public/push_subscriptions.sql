begin;
select plan(24);

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

-- The checks hold on every write of the endpoint or a key, with the constraint's name, and cost nothing on the
-- delivery's own updates (last_success_at, failure_count).
create function pg_temp.refusal(statement text) returns text language plpgsql as $$
begin
  execute statement;
  return null;
exception when check_violation then
  declare
    name text;
  begin
    get stacked diagnostics name = constraint_name;
    return name;
  end;
end
$$;
select is(pg_temp.refusal(format($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values (%L, 'https://push.tests.invalid/k', %L, %L) $$,
            tests.user_of_rank('SCOUT'), 'BAAA' || substr(tests.push_p256dh(), 5), tests.push_auth())),
  'push_subscriptions_p256dh_point', 'a p256dh that is not a point on P-256 is refused, naming the constraint');
select is(pg_temp.refusal(format($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values (%L, 'https://push.tests.invalid/k', %L, 'abcde') $$,
            tests.user_of_rank('SCOUT'), tests.push_p256dh())),
  'push_subscriptions_auth_16_bytes', 'an auth secret no base64 decoder reads (5 characters) is refused, not let through as unknown');
select is(pg_temp.refusal(format($$ insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values (%L, 'https://push.tests.invalid/k', %L, %L) $$,
            tests.user_of_rank('SCOUT'), tests.push_p256dh(), substr(tests.push_auth(), 3))),
  'push_subscriptions_auth_16_bytes', 'an auth secret shorter than 16 bytes is refused');
select is(pg_temp.refusal($$ update public.push_subscriptions set p256dh = 'p256dh-key-here' where endpoint = 'https://push.tests.invalid/operator' $$),
  'push_subscriptions_p256dh_point', 'an update of a key is checked');
select is(pg_temp.refusal($$ update public.push_subscriptions set auth = 'auth' where endpoint = 'https://push.tests.invalid/operator' $$),
  'push_subscriptions_auth_16_bytes', 'an update of the auth secret is checked');
select throws_ok($$ update public.push_subscriptions set endpoint = 'http://push.tests.invalid/operator' where endpoint = 'https://push.tests.invalid/operator' $$,
  'NX400', 'BAD_REQUEST', 'an update of the endpoint to a non-https URL is refused');
select is(pg_temp.refusal($$ update public.push_subscriptions set last_success_at = now(), failure_count = 0 where endpoint = 'https://push.tests.invalid/operator' $$),
  null, 'the delivery''s own update of a device goes through');
select throws_ok($$ update public.push_subscriptions set failure_count = -1 $$, '23514', null, 'failure_count is still never negative');

select * from finish();
rollback;

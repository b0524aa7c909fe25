begin;
select plan(12);

select tests.user_of_rank('SCOUT');
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/' || d)
  from unnest(array['sent', 'gone', 'retry', 'failed', 'last']) d;
select nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{}');

create function pg_temp.row_of(device text) returns public.notification_queue language sql as $$
  select q.* from public.notification_queue q
   where q.subscription_id = (select id from public.push_subscriptions where endpoint = 'https://push.tests.invalid/' || device)
      or (q.subscription_id is null and device = 'gone')
$$;
create function pg_temp.outcome(device text, outcome text, error text default null) returns jsonb language sql as $$
  select jsonb_build_object('id', (pg_temp.row_of(device)).id, 'outcome', outcome, 'error', error)
$$;

select nexus_private.record_push_outcomes(jsonb_build_array(
  pg_temp.outcome('sent', 'sent'),
  pg_temp.outcome('gone', 'gone', 'HTTP 410 Gone: push subscription has unsubscribed or expired'),
  pg_temp.outcome('retry', 'retry', 'HTTP 503'),
  pg_temp.outcome('failed', 'failed', 'HTTP 413 payload too large')));

select isnt((pg_temp.row_of('sent')).sent_at, null, 'a 201 marks the row sent');
select isnt((select last_success_at from public.push_subscriptions where endpoint = 'https://push.tests.invalid/sent'), null,
  'and records when the device was last reached');
select is_empty($$ select * from public.push_subscriptions where endpoint = 'https://push.tests.invalid/gone' $$,
  'a 410 deletes the subscription');
select is(((pg_temp.row_of('gone')).failed_at is not null, (pg_temp.row_of('gone')).last_error),
  (true, 'HTTP 410 Gone: push subscription has unsubscribed or expired'::text), 'and fails the row with the reason');
select is(((pg_temp.row_of('retry')).sent_at, (pg_temp.row_of('retry')).failed_at, (pg_temp.row_of('retry')).attempts,
           (pg_temp.row_of('retry')).last_error), (null::timestamptz, null::timestamptz, 1, 'HTTP 503'::text),
  'a 503 leaves the row pending with one attempt and the error, for the job''s retry');
select is((select failure_count from public.push_subscriptions where endpoint = 'https://push.tests.invalid/retry'), 1,
  'and counts a failure against the device');
select is(((pg_temp.row_of('failed')).failed_at is not null, (pg_temp.row_of('failed')).last_error),
  (true, 'HTTP 413 payload too large'::text), 'a refusal for good fails the row at once');
select is((pg_temp.row_of('last')).attempts, 0, 'rows not in the outcomes are untouched');

-- Recording twice (the job ran again after a crash) changes nothing already decided.
select nexus_private.record_push_outcomes(jsonb_build_array(pg_temp.outcome('sent', 'retry', 'HTTP 500'),
  pg_temp.outcome('failed', 'sent')));
select is(((pg_temp.row_of('sent')).sent_at is not null, (pg_temp.row_of('sent')).attempts), (true, 1),
  'a row already sent stays sent');
select is((pg_temp.row_of('failed')).sent_at, null, 'a row already failed stays failed');

-- The last attempt: a retryable error fails the row.
select nexus_private.record_push_outcomes(jsonb_build_array(pg_temp.outcome('retry', 'retry', 'HTTP 503')), true);
select is(((pg_temp.row_of('retry')).failed_at is not null, (pg_temp.row_of('retry')).attempts), (true, 2),
  'on the job''s last attempt a retryable error fails the row');

-- Rows due: a row whose device disappeared fails instead of being sent.
select is((select count(*)::int from nexus_private.push_deliveries_due(array(select id from public.notification_queue))), 1,
  'only pending rows with a device are due (the one untouched row)');

select * from finish();
rollback;

begin;
select plan(8);

select tests.user_of_rank('SCOUT');
select tests.subscribe(tests.user_of_rank('SCOUT'));
select nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{"simPodId": "sim-pod-1"}');

-- Members never read or write the queue; anon neither.
select tests.clear_authentication();
select throws_ok($$ select * from public.notification_queue $$, '42501', null, 'anon cannot read the notification queue');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select * from public.notification_queue $$, '42501', null,
  'a member cannot read the notification queue, not even their own pages');
select throws_ok($$ insert into public.notification_queue (type, user_id, payload) values ('SPAM', auth.uid(), '{}') $$,
  '42501', null, 'a member cannot queue pages');
select throws_ok($$ select nexus_private.enqueue_push(auth.uid(), 'SPAM', '{}') $$, '42501', null,
  'a member cannot call enqueue_push directly');
reset role;
select tests.authenticate_as_service();
select is((select count(*)::int from public.notification_queue), 1, 'the worker (service_role) reads the queue');
reset role;

-- The runbook's monitoring SQL (Phase 7.3), verbatim, as an operator.
select results_eq($$
SELECT
  type,
  COUNT(*) as count,
  MAX(created_at) as latest
FROM notification_queue
WHERE sent_at IS NULL
GROUP BY type;
$$, $$ values ('SIM_POD_READY', 1::bigint, now()) $$, 'the runbook''s "pending notifications" query runs as written');
update public.notification_queue set sent_at = now(), attempts = 1;
select results_eq($$
SELECT * FROM notification_queue
WHERE sent_at IS NOT NULL
ORDER BY sent_at DESC
LIMIT 10;
$$, $$ select * from public.notification_queue $$, 'the runbook''s "recent deliveries" query runs as written');

select throws_ok($$ update public.notification_queue set failed_at = now() $$, '23514', null,
  'a row is sent or failed, never both');

select * from finish();
rollback;

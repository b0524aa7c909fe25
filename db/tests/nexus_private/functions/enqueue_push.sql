begin;
select plan(7);

select tests.user_of_rank('SCOUT');
select tests.user_of_rank('VOYAGER');
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/phone');
select tests.subscribe(tests.user_of_rank('SCOUT'), 'https://push.tests.invalid/laptop');

select is(nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{"simPodId": "sim-pod-abc"}', 'sim-pod:abc'), 2,
  'paging a member queues one row per device');
select is(nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '{"simPodId": "sim-pod-abc"}', 'sim-pod:abc'), 0,
  'paging again with the same dedupe key queues nothing');
select is(nexus_private.enqueue_push(tests.user_of_rank('VOYAGER'), 'SIM_POD_READY', '{"simPodId": "sim-pod-abc"}'), 0,
  'a member without devices is not paged');
select results_eq($$ select distinct payload from public.notification_queue $$,
  $$ values ('{"type": "SIM_POD_READY", "simPodId": "sim-pod-abc"}'::jsonb) $$,
  'the payload carries its type');
select is((select count(*)::int from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
            where t.identifier = 'push__deliver'
              and (j.payload->'ids')::jsonb = (select jsonb_agg(id order by id) from public.notification_queue)), 1,
  'one delivery job carries the rows, queued in the same transaction');
select throws_ok($$ select nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'sim pod', '{}') $$, 'NX400', 'BAD_REQUEST',
  'a push type is an upper-case word');
select throws_ok($$ select nexus_private.enqueue_push(tests.user_of_rank('SCOUT'), 'SIM_POD_READY', '[1]') $$, 'NX400', 'BAD_REQUEST',
  'a push payload is an object');

select * from finish();
rollback;

begin;
select plan(15);

/*
 * Who may touch graphile-worker's queue (db/functions/16_queue_access.sql): nexus_worker, entirely; the server's
 * login role nexus_authenticator, only through enqueue_livekit_webhooks(); no API role at all.
 */
select ok(pg_has_role('nexus_authenticator', 'nexus_worker', 'member'), 'the login role may switch to nexus_worker (the worker process does)');
select ok(not pg_has_role('nexus_authenticator', 'nexus_worker', 'usage'), 'but holds none of its rights without switching (NOINHERIT)');
select ok((select rolbypassrls and not rolcanlogin from pg_roles where rolname = 'nexus_worker'),
  'nexus_worker passes graphile-worker''s row level security, and nobody logs in as it');
select ok(pg_has_role('nexus_worker', 'service_role', 'usage'), 'nexus_worker has service_role''s rights (the tasks'' security definer functions)');

select ok(has_table_privilege('nexus_worker', 'graphile_worker._private_jobs', 'select, insert, update, delete'),
  'nexus_worker reads and writes the jobs');
select ok(has_function_privilege('nexus_worker', 'graphile_worker.add_jobs(graphile_worker.job_spec[], boolean)', 'execute'),
  'nexus_worker may add jobs (the crontab, follow-up jobs)');
select is(
  (select count(*)::int from unnest(array['anon', 'authenticated', 'service_role', 'nexus_authenticator']) r
    where has_table_privilege(r, 'graphile_worker._private_jobs', 'select')
       or has_table_privilege(r, 'graphile_worker._private_jobs', 'insert')
       or has_function_privilege(r, 'graphile_worker.add_jobs(graphile_worker.job_spec[], boolean)', 'execute')),
  0, 'no API role, and not the login role itself, may read the jobs or add one directly');

select ok(has_function_privilege('nexus_authenticator', 'nexus_private.enqueue_livekit_webhooks(json)', 'execute'),
  'the login role may enqueue webhook events');
select is(
  (select count(*)::int from unnest(array['anon', 'authenticated', 'service_role']) r
    where has_function_privilege(r, 'nexus_private.enqueue_livekit_webhooks(json)', 'execute')),
  0, 'no API role may (a request runs as one of them, never as the login role)');

set local role nexus_authenticator;
select throws_ok($$ select * from graphile_worker._private_jobs $$, '42501', null, 'the login role cannot read the queue');
select is(nexus_private.enqueue_livekit_webhooks(
  '[{"identifier": "presence__apply_event", "payload": {"id": "EV_1"}, "job_key": "livekit:EV_1", "max_attempts": 25},
    {"identifier": "presence__apply_event", "payload": {"id": "EV_2"}, "job_key": "livekit:EV_2", "max_attempts": 25}]'), 2,
  'the login role enqueues webhook events through the function');
select throws_ok($$ select nexus_private.enqueue_livekit_webhooks('[{"identifier": "push__deliver", "payload": {}, "job_key": "x"}]') $$,
  'NX400', 'BAD_REQUEST', 'but no other task');
select throws_ok($$ select nexus_private.enqueue_livekit_webhooks('{"identifier": "presence__apply_event"}') $$,
  'NX400', 'BAD_REQUEST', 'and only an array of specs');
reset role;
select results_eq($$ select task_identifier, key, max_attempts::int from graphile_worker.jobs order by key $$,
  $$ values ('presence__apply_event'::text, 'livekit:EV_1'::text, 25), ('presence__apply_event', 'livekit:EV_2', 25) $$,
  'the two events are two presence__apply_event jobs keyed by event id, and nothing else was added');

set local role nexus_worker;
select lives_ok($$ select count(*) from graphile_worker._private_jobs $$, 'the worker''s role reads the queue');
reset role;

select * from finish();
rollback;

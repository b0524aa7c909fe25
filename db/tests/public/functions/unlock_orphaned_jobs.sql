begin;
select plan(5);

-- Two runners: one alive (this session holds its lock), one dead (nobody does).
select nexus_private.register_worker_runner('pool-alive');
insert into nexus_private.worker_runners (pool_id) values ('pool-dead');
select graphile_worker.add_job('push__fanout', '{"flareId": "00000000-0000-0000-0000-000000000001"}');
select graphile_worker.add_job('push__fanout', '{"flareId": "00000000-0000-0000-0000-000000000002"}');
update graphile_worker._private_jobs set locked_by = 'pool-alive', locked_at = now() where payload->>'flareId' like '%1';
update graphile_worker._private_jobs set locked_by = 'pool-dead', locked_at = now() where payload->>'flareId' like '%2';

select is(nexus_private.unlock_orphaned_jobs(), 1, 'one job was held by a runner whose lock is gone');
select is((select locked_by from graphile_worker._private_jobs where payload->>'flareId' like '%2'), null,
  'the dead runner''s job is back in the queue');
select is((select locked_by from graphile_worker._private_jobs where payload->>'flareId' like '%1'), 'pool-alive',
  'a live runner keeps its job');
select results_eq($$ select pool_id from nexus_private.worker_runners $$, $$ values ('pool-alive') $$,
  'the dead runner is forgotten');

select nexus_private.unregister_worker_runner('pool-alive');
select is_empty($$ select * from pg_locks where locktype = 'advisory' and classid = 28280 and pid = pg_backend_pid() $$,
  'a runner that stops cleanly releases its lock');

select * from finish();
rollback;

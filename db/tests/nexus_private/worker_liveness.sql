begin;
select plan(5);

-- Two workers: one refreshing its heartbeat, one silent for five minutes (killed). Each holds a job.
select nexus_private.worker_heartbeat(array['w-alive'], 'runner-a', 'host', 1);
select nexus_private.worker_heartbeat(array['w-dead'], 'runner-b', 'host', 2);
update nexus_private.worker_heartbeats set last_seen = now() - interval '5 minutes' where worker_id = 'w-dead';
select graphile_worker.add_job('presence__apply_event', '{}'::json, job_key => 'held-by-alive');
select graphile_worker.add_job('presence__apply_event', '{}'::json, job_key => 'held-by-dead');
update graphile_worker._private_jobs set locked_at = now(), locked_by = 'w-alive' where key = 'held-by-alive';
update graphile_worker._private_jobs set locked_at = now() - interval '5 minutes', locked_by = 'w-dead' where key = 'held-by-dead';

select is(nexus_private.unlock_dead_workers(interval '1 minute'), array['w-dead'], 'a worker silent for longer than the bound is declared dead');
select is((select locked_by from graphile_worker._private_jobs where key = 'held-by-dead'), null, 'the dead worker''s job is back in the queue');
select is((select locked_by from graphile_worker._private_jobs where key = 'held-by-alive'), 'w-alive', 'a live worker keeps its job');
select is((select array_agg(worker_id) from nexus_private.worker_heartbeats), array['w-alive'], 'the dead worker leaves the heartbeat list');

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select nexus_private.unlock_dead_workers(interval '1 second') $$, '42501', null, 'members cannot unlock jobs');

select * from finish();
rollback;

begin;
select plan(11);

-- A periodic task that failed for good three times, one run of it queued and one running; another task's dead letter.
select tests.add_job('probe__cron', 'exhausted', 'LiveKit unreachable (1)') as dead1 \gset
select tests.add_job('probe__cron', 'exhausted', 'LiveKit unreachable (2)') as dead2 \gset
select tests.add_job('probe__cron', 'exhausted', 'LiveKit unreachable (3)') as dead3 \gset
select tests.add_job('probe__cron', 'queued') as queued \gset
select tests.add_job('probe__cron', 'locked') as running \gset
select tests.add_job('probe__other', 'exhausted') as other \gset

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$select nexus_private.prune_superseded_dead_letters(array['probe__cron'])$$, '42501', null,
  'a member, even a PIONEER, cannot prune dead letters: only the worker (service_role) may');
select throws_ok($$select nexus_private.removed_jobs('{}')$$, '42501', null,
  'nor call the audit record of removed jobs (a helper of the functions that remove them)');
select tests.clear_authentication();
select throws_ok($$select nexus_private.prune_superseded_dead_letters(array['probe__cron'])$$, '42501', null, 'nor can anon');
select throws_ok($$select nexus_private.removed_jobs('{}')$$, '42501', null, 'nor its helper');

select tests.authenticate_as_service();
select is(nexus_private.prune_superseded_dead_letters(array['probe__cron']), 2, 'the two older dead letters of the task go');
select is(nexus_private.prune_superseded_dead_letters(array['probe__cron']), 0, 'and a second sweep finds nothing more');
reset role;
select is((select array_agg(id order by id) from graphile_worker.jobs where task_identifier = 'probe__cron' and attempts >= max_attempts),
  array[:dead3]::bigint[], 'the newest dead letter stays, for nexus_job_dead_letters and /ops');
select is((select last_error from graphile_worker.jobs where id = :dead3), 'LiveKit unreachable (3)', 'with its error');
select is((select count(*)::int from graphile_worker.jobs where id in (:queued, :running)), 2,
  'a queued run and a running one are untouched');
select is((select count(*)::int from graphile_worker.jobs where id = :other), 1, 'and so is another task''s dead letter');
select is((select (details -> 'jobs') @> jsonb_build_array(jsonb_build_object('id', :dead1, 'task', 'probe__cron', 'attempts', 3, 'last_error', 'LiveKit unreachable (1)'),
                                                           jsonb_build_object('id', :dead2))
             from nexus_private.audit_log where action = 'job.superseded' order by id desc limit 1), true,
  'what was deleted is in the audit trail as job.superseded');

select * from finish();
rollback;

begin;
select plan(8);

-- Two jobs; a worker claims the first.
select tests.add_job('probe__give_up') as running \gset
select tests.add_job('probe__give_up') as queued \gset
select tests.claim_next_job('probe__give_up') = :running as claimed_first \gset

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok(format('select nexus_private.give_up_job(%s, %L)', :running, 'tests-worker'), '42501', null,
  'a member, even a PIONEER, cannot give up a job: only the worker (service_role) may');
select tests.clear_authentication();
select throws_ok(format('select nexus_private.give_up_job(%s, %L)', :running, 'tests-worker'), '42501', null,
  'nor can anon');

select tests.authenticate_as_service();
select is(nexus_private.give_up_job(:running, 'another-worker'), false,
  'a worker cannot give up a job another worker holds');
select is(nexus_private.give_up_job(:queued, 'tests-worker'), false,
  'nor a job nobody is running');
select is(nexus_private.give_up_job(:running, 'tests-worker'), true, 'the worker holding a job gives it up');
reset role;
select is((select row(attempts, max_attempts)::text from graphile_worker.jobs where id = :running), '(1,1)',
  'its attempts are used up: once the worker records the failure it is a dead letter, not retried');
select is((select max_attempts from graphile_worker.jobs where id = :queued), 3::smallint,
  'the job it could not give up keeps its attempts');

-- The worker records the failure the way graphile-worker does: the job is then a dead letter for operators.
select tests.fail_job(:running, 'payload is not valid: flareId: Invalid UUID');
select is((select f.last_error from public.failed_jobs('probe__give_up') f where f.id = :running),
  'payload is not valid: flareId: Invalid UUID', 'and failedJobs shows it with its reason');

select * from finish();
rollback;

begin;
select plan(14);

select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.create_skill('Field medicine');
select tests.create_user('cadet', 'SCOUT');
select tests.create_user('mentor', 'VOYAGER');
select tests.user_of_rank('PIONEER');
select tests.certify(tests.member('mentor'), s) from unnest(array[tests.skill('Mining'), tests.skill('Hammerhead piloting'), tests.skill('Field medicine')]) s;
select tests.subscribe(tests.member('mentor'), 'https://push.tests.invalid/mentor-phone');
create temporary table req on commit drop as
  select 'pending' as name, tests.request_training(tests.member('cadet'), tests.skill('Mining')) as id
  union all select 'accepted', tests.request_training(tests.member('cadet'), tests.skill('Hammerhead piloting'))
  union all select 'completed', tests.request_training(tests.member('cadet'), tests.skill('Field medicine'));
grant select on req to public;
create function tests.req(wanted text) returns uuid language sql stable as $$ select id from pg_temp.req r where r.name = wanted $$;
grant execute on function tests.req(text) to public;
select tests.authenticate_as(tests.member('mentor'));
create temporary table pod on commit drop as select sim_pod from public.accept_training(tests.req('accepted'));
grant select on pod to public;
select public.accept_training(tests.req('completed'));
select public.complete_training(tests.req('completed'));

-- who may not cancel
select tests.clear_authentication();
select throws_ok($$ select public.cancel_training(tests.req('pending')) $$, '42501', null, 'anon cannot cancel training');
reset role;
select tests.authenticate_as(tests.member('mentor'));
select throws_ok($$ select public.cancel_training(tests.req('accepted')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'the mentor cannot cancel the cadet''s training (they complete it)');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select public.cancel_training(tests.req('pending')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a PIONEER cannot cancel another member''s training request');
select throws_ok($$ select public.cancel_training(gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'cancelling a request that does not exist is NOT_FOUND');

-- the cadet cancels PENDING and ACCEPTED
select tests.authenticate_as(tests.member('cadet'));
select is((select row(status, cancelled_at is not null)::text from public.cancel_training(tests.req('pending'))),
  row('CANCELLED'::public.academy_request_status, true)::text, 'the cadet cancels a PENDING request');
select is((public.cancel_training(tests.req('pending'))).status, 'CANCELLED'::public.academy_request_status,
  'cancelling again changes nothing');
select is((select row(status, mentor_id)::text from public.cancel_training(tests.req('accepted'))),
  row('CANCELLED'::public.academy_request_status, tests.member('mentor'))::text,
  'the cadet cancels an ACCEPTED request; who had accepted stays on record');
select throws_ok($$ select public.cancel_training(tests.req('completed')) $$, 'NX409', 'CONFLICT',
  'a COMPLETED training cannot be cancelled');
reset role;
select ok((select expires_at <= now() from public.sim_pods where id = (select sim_pod from pod)),
  'cancelling closes the sim pod at once');
select is((select payload ->> 'title' from public.notification_queue where type = 'TRAINING_CANCELLED' and user_id = tests.member('mentor')),
  'Training called off', 'the mentor who had accepted is paged');
select is((select count(*)::int from public.notification_queue where type = 'TRAINING_CANCELLED'), 1,
  'a PENDING request had no mentor to page, and cancelling twice pages once');
select is((select count(*)::int from nexus_private.audit_log where action = 'academy_request.cancelled'), 2,
  'each cancellation is audited once');
select is((select status from public.academy_requests where id = tests.req('completed')), 'COMPLETED'::public.academy_request_status,
  'a refused cancel leaves the training as it was');

-- the service role (operators' tools) may cancel on a cadet's behalf
select tests.request_training(tests.member('cadet'), tests.skill('Mining'));
select tests.authenticate_as_service();
select is((public.cancel_training((select id from public.academy_requests where status = 'PENDING'))).status,
  'CANCELLED'::public.academy_request_status, 'the service role may cancel a request');

select * from finish();
rollback;

begin;
select plan(16);

select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('voyager-mentor', 'VOYAGER');
select tests.create_user('scout-mentor', 'SCOUT');
select tests.create_user('other-mentor', 'PIONEER');
select tests.user_of_rank('FOUNDER');
select tests.certify(tests.member('voyager-mentor'), tests.skill('Mining'));
select tests.certify(tests.member('scout-mentor'), tests.skill('Hammerhead piloting'));
select tests.certify(tests.member('other-mentor'), tests.skill('Mining'));
create temporary table req on commit drop as
  select 'mining' as name, tests.request_training(tests.member('cadet'), tests.skill('Mining')) as id
  union all select 'piloting', tests.request_training(tests.member('cadet'), tests.skill('Hammerhead piloting'));
grant select on req to public;
create function tests.req(wanted text) returns uuid language sql stable as $$ select id from pg_temp.req r where r.name = wanted $$;
grant execute on function tests.req(text) to public;

-- a PENDING request has no mentor to complete it
select tests.authenticate_as(tests.member('voyager-mentor'));
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a PENDING request cannot be completed, not even by a mentor of its skill');
create temporary table pod on commit drop as select sim_pod from public.accept_training(tests.req('mining'));
grant select on pod to public;

-- only the mentor who accepted completes
select tests.clear_authentication();
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, '42501', null, 'anon cannot complete a training');
reset role;
select tests.authenticate_as(tests.member('cadet'));
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'the cadet cannot complete their own training');
select tests.authenticate_as(tests.member('other-mentor'));
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'another mentor of the skill cannot complete a training they did not accept');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ select public.complete_training(tests.req('mining'), true) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a FOUNDER who is not its mentor cannot complete a training');
select throws_ok($$ select public.complete_training(gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'completing a request that does not exist is NOT_FOUND');

-- the mentor completes and certifies
select tests.authenticate_as(tests.member('voyager-mentor'));
select is((select row(status, completed_at is not null)::text from public.complete_training(tests.req('mining'), true)),
  row('COMPLETED'::public.academy_request_status, true)::text, 'the mentor who accepted completes the training');
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, 'NX409', 'CONFLICT',
  'a COMPLETED training cannot be completed again');
select throws_ok($$ select public.cancel_training(tests.req('mining')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'nor cancelled by the mentor');
reset role;
select is((select granted_by from public.mentor_certifications where user_id = tests.member('cadet') and skill_id = tests.skill('Mining')),
  tests.member('voyager-mentor'), 'with certify, the cadet becomes a mentor of the skill, granted by their mentor');
select is((select details from nexus_private.audit_log where action = 'academy_request.completed'),
  jsonb_build_object('request_id', tests.req('mining'), 'certified', true), 'the completion is audited, with the certification');
select ok((select expires_at <= now() from public.sim_pods where id = (select sim_pod from pod)), 'completing closes the sim pod');

-- certifying follows the certification rule: a SCOUT mentor completes, but cannot certify
select tests.authenticate_as(tests.member('scout-mentor'));
select public.accept_training(tests.req('piloting'));
select throws_ok($$ select public.complete_training(tests.req('piloting'), true) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a mentor below VOYAGER cannot certify their cadet');
select is((select status from public.academy_requests where id = tests.req('piloting')), 'ACCEPTED'::public.academy_request_status,
  'a refused completion leaves the training ACCEPTED');
select is((public.complete_training(tests.req('piloting'))).status, 'COMPLETED'::public.academy_request_status,
  'the SCOUT mentor completes without certifying');
reset role;
select ok(not exists (select 1 from public.mentor_certifications where user_id = tests.member('cadet') and skill_id = tests.skill('Hammerhead piloting')),
  'completing without certify certifies nobody');

select * from finish();
rollback;

begin;
select plan(27);

-- A VOYAGER mentor (who could certify) holds an accepted Mining training, and one in Piloting.
select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('pilot-cadet', 'VAGRANT');
select tests.create_user('mentor', 'VOYAGER');
select tests.create_user('other-mentor', 'SCOUT');
select tests.subscribe(tests.member('cadet'));
select tests.certify(tests.member('mentor'), tests.skill('Mining'));
select tests.certify(tests.member('mentor'), tests.skill('Hammerhead piloting'));
select tests.certify(tests.member('other-mentor'), tests.skill('Mining'));
create temporary table req on commit drop as
  select 'mining' as name, tests.request_training(tests.member('cadet'), tests.skill('Mining')) as id
  union all select 'piloting', tests.request_training(tests.member('pilot-cadet'), tests.skill('Hammerhead piloting'));
grant select on req to public;
create function tests.req(wanted text) returns uuid language sql stable as $$ select id from pg_temp.req r where r.name = wanted $$;
grant execute on function tests.req(text) to public;
select tests.authenticate_as(tests.member('mentor'));
create temporary table pod on commit drop as
  select 'mining' as name, sim_pod as id from public.accept_training(tests.req('mining'))
  union all select 'piloting', sim_pod from public.accept_training(tests.req('piloting'));
grant select on pod to public;
reset role;
create function tests.pod(wanted text) returns text language sql stable as $$ select id from pg_temp.pod p where p.name = wanted $$;
grant execute on function tests.pod(text) to public;
reset role;

-- Nobody below FOUNDER revokes, and a refused revocation ends nothing: anon, every rank, the mentor, the cadet.
select tests.clear_authentication();
select throws_ok($$ select public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining')) $$, '42501', null,
  'anon cannot revoke a certification');
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a VAGRANT cannot revoke a certification');
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'an AFFILIATE cannot revoke a certification');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a SCOUT cannot revoke a certification');
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a VOYAGER cannot revoke a certification');
select tests.authenticate_as(tests.member('cadet'));
select throws_ok($$ select public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'the cadet cannot revoke their mentor''s certification');
select tests.authenticate_as(tests.member('mentor'));
select is((select room_admin from public.join_sim_pod(tests.pod('mining'))), true,
  'after the refusals the mentor still holds the training and administers its pod');

-- A FOUNDER revokes the Mining certification: the Mining training the mentor holds ends at once.
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is((public.revoke_mentor_certification(tests.member('mentor'), tests.skill('Mining'))).user_id, tests.member('mentor'),
  'a FOUNDER revokes the certification');
reset role;
select is((select row(status, cancelled_at is not null, mentor_id)::text from public.academy_requests where id = tests.req('mining')),
  row('CANCELLED'::public.academy_request_status, true, tests.member('mentor'))::text,
  'the training the withdrawn mentor held is CANCELLED, and still says who mentored it');
select ok((select expires_at <= now() from public.sim_pods where id = tests.pod('mining')), 'its sim pod closes at once');
select is((select count(*)::int from nexus_private.voice_rights_changes
            where kind = 'sim_pod_expiry' and sim_pod_id = tests.pod('mining') and (details ->> 'runAt')::timestamptz <= now()), 1,
  'the live rights job is due now for the pod: whoever is still in its room is removed, as for a cancelled training');
select is((select row(payload ->> 'type', payload ->> 'simPodId', payload ->> 'title')::text from public.notification_queue
            where user_id = tests.member('cadet') and type = 'MENTOR_WITHDRAWN'),
  row('MENTOR_WITHDRAWN', tests.pod('mining'), 'Your mentor was withdrawn')::text, 'the cadet is paged');
select is((select details from nexus_private.audit_log where action = 'academy_request.cancelled'),
  jsonb_build_object('request_id', tests.req('mining'), 'reason', 'mentor_certification_revoked', 'mentor_id', tests.member('mentor')),
  'the cancellation is audited with its reason');

-- The withdrawn mentor can no longer join (let alone administer) the pod, nor complete or certify.
select tests.authenticate_as(tests.member('mentor'));
select throws_ok($$ select * from public.join_sim_pod(tests.pod('mining')) $$, 'NX404', 'NOT_FOUND',
  'the withdrawn mentor cannot join the pod they held: no roomAdmin grant');
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, 'NX409', 'CONFLICT',
  'the withdrawn mentor cannot complete the training');
select throws_ok($$ select public.complete_training(tests.req('mining'), true) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'nor complete it certifying the cadet');
select throws_ok($$ select * from public.accept_training((select tests.request_training(tests.member('pilot-cadet'), tests.skill('Mining')))) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'nor accept a new request of the skill');
-- Nobody else gets in either: the cadet, another mentor of the skill, a PIONEER.
select tests.authenticate_as(tests.member('cadet'));
select throws_ok($$ select * from public.join_sim_pod(tests.pod('mining')) $$, 'NX404', 'NOT_FOUND', 'the cadet cannot join the closed pod');
select tests.authenticate_as(tests.member('other-mentor'));
select throws_ok($$ select * from public.join_sim_pod(tests.pod('mining')) $$, 'NX404', 'NOT_FOUND',
  'another mentor of the skill cannot join it');
select throws_ok($$ select public.complete_training(tests.req('mining')) $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'nor complete it');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select * from public.join_sim_pod(tests.pod('mining')) $$, 'NX404', 'NOT_FOUND',
  'a PIONEER cannot join it');
reset role;
select ok(not exists (select 1 from public.mentor_certifications where user_id = tests.member('cadet')), 'nobody certified the cadet');

-- The mentor's training in a skill they still mentor runs on; the cadet asks again and another mentor takes it.
select tests.authenticate_as(tests.member('mentor'));
select is((select row(participant, room_admin)::text from public.join_sim_pod(tests.pod('piloting'))), row('MENTOR', true)::text,
  'the mentor keeps the training and the pod of the skill they are still certified for');
reset role;
create temporary table again on commit drop as select tests.request_training(tests.member('cadet'), tests.skill('Mining')) as id;
grant select on again to public;
select tests.authenticate_as(tests.member('other-mentor'));
select is((select participant from public.accept_training((select id from again))), 'MENTOR',
  'the cadet asks again and another mentor accepts');

-- An operator's delete (the runbook's SQL editor) ends the trainings the same way.
reset role;
delete from public.mentor_certifications where user_id = tests.member('other-mentor') and skill_id = tests.skill('Mining');
select is((select status from public.academy_requests where id = (select id from again)), 'CANCELLED'::public.academy_request_status,
  'an operator deleting the certification row cancels the mentor''s trainings too');
select ok((select p.expires_at <= now() from public.sim_pods p join public.academy_requests r on r.sim_pod_id = p.id where r.id = (select id from again)),
  'and closes their pods');
select is((select status from public.academy_requests where id = tests.req('piloting')), 'ACCEPTED'::public.academy_request_status,
  'another mentor''s revocation leaves this one''s training alone');

select * from finish();
rollback;

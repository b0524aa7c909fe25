begin;
select plan(21);

select tests.create_skill('Hammerhead piloting');
select tests.create_skill('Mining');
select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;
select tests.create_user('cadet', 'VAGRANT');
select tests.create_user('voyager-mentor', 'VOYAGER');
select tests.create_user('scout-mentor', 'SCOUT');
select tests.certify(tests.user_of_rank('VOYAGER'), tests.skill('Mining'));
select tests.certify(tests.member('voyager-mentor'), tests.skill('Hammerhead piloting'));
select tests.certify(tests.member('scout-mentor'), tests.skill('Hammerhead piloting'));


-- anon
select tests.clear_authentication();
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, '42501', null,
  'anon cannot certify mentors');

-- Without a certification in the skill, below FOUNDER nobody certifies: every rank tried.
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a VAGRANT cannot certify mentors');
select tests.authenticate_as(tests.user_of_rank('AFFILIATE'));
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'an AFFILIATE cannot certify mentors');
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a SCOUT cannot certify mentors');
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a VOYAGER who mentors another skill (Mining) cannot certify mentors of this one');
select tests.authenticate_as(tests.member('scout-mentor'));
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a mentor of the skill below VOYAGER (a SCOUT) cannot certify others');
select is((select count(*)::int from public.mentor_certifications where user_id = tests.member('cadet')), 0,
  'refused certifications leave no row');

-- A VOYAGER+ mentor of the skill certifies; FOUNDER+ certify in any skill.
select tests.authenticate_as(tests.member('voyager-mentor'));
select is((public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting'))).granted_by,
  tests.member('voyager-mentor'),
  'a VOYAGER mentor of the skill certifies a new mentor of it, and is recorded as the one who granted it');
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$, 'NX409',
  'CONFLICT', 'certifying a member twice for one skill is a CONFLICT');
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Mining')) $$, 'NX403',
  'INSUFFICIENT_CLEARANCE', 'a VOYAGER mentor certifies only in the skills they mentor');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ select public.certify_mentor(tests.member('cadet'), tests.skill('Mining')) $$,
  'a FOUNDER certifies mentors of a skill they do not mentor themselves');
select throws_ok($$ select public.certify_mentor(tests.member('cadet'), gen_random_uuid()) $$, 'NX404', 'NOT_FOUND',
  'certifying in a skill that does not exist is NOT_FOUND');
select throws_ok($$ select public.certify_mentor(gen_random_uuid(), tests.skill('Mining')) $$, 'NX404', 'NOT_FOUND',
  'certifying a member who does not exist is NOT_FOUND');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ select public.certify_mentor(tests.user_of_rank('SCOUT'), tests.skill('Mining')) $$,
  'a PIONEER certifies mentors');
select tests.authenticate_as_service();
select lives_ok($$ select public.certify_mentor(tests.user_of_rank('AFFILIATE'), tests.skill('Mining')) $$,
  'the service role certifies mentors (operators'' tools)');

reset role;
select is((select details - 'db_user' from nexus_private.audit_log
            where action = 'mentor_certification.granted' and actor_id = tests.member('voyager-mentor')),
  jsonb_build_object('user_id', tests.member('cadet'), 'skill_id', tests.skill('Hammerhead piloting'),
                     'granted_by', tests.member('voyager-mentor')),
  'each grant is audited: who, to whom, which skill');

-- Revoking: FOUNDER+ only.
select tests.authenticate_as(tests.member('voyager-mentor'));
select throws_ok($$ select public.revoke_mentor_certification(tests.member('cadet'), tests.skill('Hammerhead piloting')) $$,
  'NX403', 'INSUFFICIENT_CLEARANCE', 'a VOYAGER mentor cannot revoke a certification, not even one they granted');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select is((public.revoke_mentor_certification(tests.member('cadet'), tests.skill('Hammerhead piloting'))).user_id,
  tests.member('cadet'), 'a FOUNDER revokes a certification');
select is(public.revoke_mentor_certification(tests.member('cadet'), tests.skill('Hammerhead piloting')), null,
  'revoking a certification that is not there changes nothing');
reset role;
select is((select count(*)::int from nexus_private.audit_log
            where action = 'mentor_certification.revoked' and actor_id = tests.user_of_rank('FOUNDER')
              and details ->> 'user_id' = tests.member('cadet')::text), 1,
  'the revocation is audited, once');
select ok(not exists (select 1 from public.mentor_certifications where user_id = tests.member('cadet')
                       and skill_id = tests.skill('Hammerhead piloting')),
  'a revoked mentor no longer mentors the skill');

select * from finish();
rollback;

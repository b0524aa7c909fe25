begin;
select plan(9);

select tests.create_skill('Hammerhead piloting');
select tests.user_of_rank('VAGRANT');
select tests.user_of_rank('SCOUT');
select tests.user_of_rank('PIONEER');

-- The runbook's operator SQL, verbatim, as the superuser: every other column defaulted or nullable.
select lives_ok(format($$ insert into public.mentor_certifications (user_id, skill_id) values (%L, %L) $$,
                       tests.user_of_rank('SCOUT'), tests.skill('Hammerhead piloting')),
  'an operator certifies a mentor with the runbook''s insert, naming only the member and the skill');
select is((select granted_by from public.mentor_certifications where user_id = tests.user_of_rank('SCOUT')), null,
  'a certification an operator inserted has no granting member');
select is((select details - 'db_user' from nexus_private.audit_log where action = 'mentor_certification.granted'),
  jsonb_build_object('user_id', tests.user_of_rank('SCOUT'), 'skill_id', tests.skill('Hammerhead piloting'), 'granted_by', null),
  'an operator''s insert is on the audit trail too');
select throws_ok(format($$ insert into public.mentor_certifications (user_id, skill_id) values (%L, %L) $$,
                       tests.user_of_rank('SCOUT'), tests.skill('Hammerhead piloting')),
  '23505', null, 'a member is certified for a skill once');

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.mentor_certifications $$, '42501', null, 'anon cannot read who mentors what');

-- every member sees who mentors what
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select results_eq($$ select user_id, skill_id from public.mentor_certifications $$,
  $$ values (tests.user_of_rank('SCOUT'), tests.skill('Hammerhead piloting')) $$,
  'a VAGRANT sees who mentors which skill');

-- nobody writes the table around the functions, not even a PIONEER
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok(format($$ insert into public.mentor_certifications (user_id, skill_id) values (%L, %L) $$,
                       tests.user_of_rank('PIONEER'), tests.skill('Hammerhead piloting')),
  '42501', null, 'a PIONEER cannot insert a certification directly (certify_mentor checks and audits)');
select throws_ok($$ delete from public.mentor_certifications $$, '42501', null,
  'a PIONEER cannot delete a certification directly (revoke_mentor_certification audits)');
reset role;
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select throws_ok($$ update public.mentor_certifications set skill_id = skill_id $$, '42501', null,
  'a mentor cannot edit their own certification');

select * from finish();
rollback;

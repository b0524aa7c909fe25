begin;
select plan(5);

select tests.create_skill('Mining');
select tests.create_skill('Hammerhead piloting');
select tests.create_user('cadet-a', 'VAGRANT');
select tests.create_user('cadet-b', 'SCOUT');
select tests.create_user('cadet-c', 'FOUNDER');
select tests.create_user('mentor', 'SCOUT');
select tests.create_user('other-mentor', 'VOYAGER');
select tests.user_of_rank('PIONEER');
select tests.certify(tests.member('mentor'), tests.skill('Mining'));
select tests.certify(tests.member('other-mentor'), tests.skill('Mining'));
create temporary table req on commit drop as
  select 'a' as name, tests.request_training(tests.member('cadet-a'), tests.skill('Mining')) as id
  union all select 'b-piloting', tests.request_training(tests.member('cadet-b'), tests.skill('Hammerhead piloting'))
  union all select 'c', tests.request_training(tests.member('cadet-c'), tests.skill('Mining'))
  union all select 'mentor-own', tests.request_training(tests.member('mentor'), tests.skill('Hammerhead piloting'))
  union all select 'taken', tests.request_training(tests.member('cadet-b'), tests.skill('Mining'));
grant select on req to public;
-- cadet-a asked first
update public.academy_requests set created_at = now() - interval '1 hour' where id = (select id from req where name = 'a');
select tests.authenticate_as(tests.member('other-mentor'));
select public.accept_training((select id from req where name = 'taken'));

select tests.authenticate_as(tests.member('mentor'));
select results_eq($$ select id from public.open_training_requests() $$,
  $$ select id from req where name in ('a', 'c') order by name $$,
  'a mentor lists the PENDING requests in the skills they mentor, oldest first, not those already taken');
select tests.authenticate_as(tests.member('other-mentor'));
select results_eq($$ select id from public.open_training_requests() $$,
  $$ select id from req where name in ('a', 'c') order by name $$, 'every mentor of the skill lists the same open requests');
select tests.certify(tests.member('mentor'), tests.skill('Hammerhead piloting'));
select tests.authenticate_as(tests.member('mentor'));
select results_eq($$ select id from public.open_training_requests() where skill_id = tests.skill('Hammerhead piloting') $$,
  $$ select id from req where name = 'b-piloting' $$, 'a mentor never sees their own request among those to take');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select is_empty($$ select * from public.open_training_requests() $$, 'a PIONEER who mentors nothing has no requests to take');
select tests.clear_authentication();
select throws_ok($$ select * from public.open_training_requests() $$, '42501', null, 'anon lists nothing');

select * from finish();
rollback;

begin;
select plan(10);

select tests.user_of_rank('VAGRANT');
select tests.user_of_rank('VOYAGER');
select tests.user_of_rank('FOUNDER');

-- The runbook's operator SQL, verbatim, as the superuser: every other column defaulted or nullable.
select lives_ok($$ insert into public.skills (name) values ('Hammerhead piloting') $$,
  'an operator adds a skill with the runbook''s insert, naming only the skill');
select throws_ok($$ insert into public.skills (name) values ('  hammerhead PILOTING ') $$, '23505', null,
  'skill names are unique, whatever their case and surrounding spaces');
select throws_ok($$ insert into public.skills (name) values ('   ') $$, '23514', null, 'a skill needs a name');

-- anon
select tests.clear_authentication();
select throws_ok($$ select * from public.skills $$, '42501', null, 'anon cannot read skills');

-- every member reads them
reset role;
select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select results_eq($$ select name from public.skills $$, $$ values ('Hammerhead piloting') $$,
  'a VAGRANT reads the skills the academy teaches');

-- below FOUNDER nobody adds or edits skills, not even a VOYAGER
select throws_ok($$ insert into public.skills (name, category) values ('Mining', 'Industry') $$, '42501', null,
  'a VAGRANT cannot add a skill');
reset role;
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ insert into public.skills (name, category) values ('Mining', 'Industry') $$, '42501', null,
  'a VOYAGER cannot add a skill');
select is_empty($$ update public.skills set description = 'defaced' returning id $$, 'a VOYAGER cannot edit a skill');

-- FOUNDER+ add and edit
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ insert into public.skills (name, description, category) values ('Mining', 'Prospector and Mole', 'Industry') $$,
  'a FOUNDER adds a skill with its description and category');
select throws_ok($$ delete from public.skills $$, '42501', null, 'nobody deletes skills through the API, not even a FOUNDER');

select * from finish();
rollback;

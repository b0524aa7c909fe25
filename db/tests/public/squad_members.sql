begin;
select plan(12);

/*
 * squads and squad_members: members see squads and rosters; FOUNDER+ create and delete squads; a squad's LEAD
 * (and FOUNDER+) manages its roster; nobody else, and never another squad's.
 */
select tests.create_squad('Red', array[tests.create_user('red-lead', 'SCOUT'), tests.create_user('red-one', 'VAGRANT')]);
select tests.create_squad('Blue', array[tests.create_user('blue-lead', 'SCOUT')]);
select tests.create_user('newcomer', 'VAGRANT');

select tests.authenticate_as(tests.user_of_rank('VAGRANT'));
select is((select count(*)::int from public.squad_members), 3, 'a member sees every roster');
select throws_ok($$ insert into public.squads (name) values ('Mine') $$, '42501', null, 'a VAGRANT cannot create a squad');
select throws_ok($$ insert into public.squad_members (squad_id, user_id) select id, auth.uid() from public.squads where name = 'Red' $$,
  '42501', null, 'a member cannot add themselves to a squad');
reset role;

select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ insert into public.squads (name) values ('Voyagers') $$, '42501', null, 'a VOYAGER cannot create a squad');
reset role;

select tests.authenticate_as((select id from public.profiles where callsign = 'red-lead'));
select lives_ok($$ insert into public.squad_members (squad_id, user_id)
                   select s.id, p.id from public.squads s, public.profiles p where s.name = 'Red' and p.callsign = 'newcomer' $$,
  'a squad''s LEAD adds a member');
select throws_ok($$ insert into public.squad_members (squad_id, user_id)
                    select s.id, p.id from public.squads s, public.profiles p where s.name = 'Blue' and p.callsign = 'newcomer' $$,
  '42501', null, 'a LEAD cannot add members to another squad');
delete from public.squad_members m using public.squads s where s.id = m.squad_id and s.name = 'Blue';
select lives_ok($$ update public.squads set description = 'Red wing' where name = 'Red' $$, 'a LEAD describes their squad');
reset role;
select is((select count(*)::int from public.squad_members m join public.squads s on s.id = m.squad_id where s.name = 'Blue'), 1,
  'a LEAD cannot remove members of another squad');

select tests.authenticate_as((select id from public.profiles where callsign = 'red-one'));
delete from public.squad_members where user_id = (select id from public.profiles where callsign = 'newcomer');
reset role;
select is((select count(*)::int from public.squad_members where user_id = (select id from public.profiles where callsign = 'newcomer')), 1,
  'a plain MEMBER cannot remove anyone');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ insert into public.squads (name) values ('Gold') $$, 'a FOUNDER creates a squad');
select lives_ok($$ delete from public.squad_members where user_id = (select id from public.profiles where callsign = 'blue-lead') $$,
  'a FOUNDER manages any roster');
reset role;

select tests.clear_authentication();
select throws_ok($$ select * from public.squads $$, '42501', null, 'anon cannot read squads');
reset role;

select * from finish();
rollback;

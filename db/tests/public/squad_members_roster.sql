begin;
select plan(15);

/*
 * squad_members, the writes: a squad's LEADs and FOUNDER+ add, re-role and remove its members; a plain MEMBER
 * does none of it, not even to themselves; a LEAD never touches another squad's roster; anon holds no grant.
 */
select tests.create_squad('Red', array[tests.create_user('red-lead', 'SCOUT'), tests.create_user('red-one', 'VOYAGER'),
                                       tests.create_user('red-two', 'AFFILIATE')]);
select tests.create_squad('Blue', array[tests.create_user('blue-lead', 'VOYAGER'), tests.create_user('blue-one', 'VAGRANT')]);
-- Per rank: a recruit to add to Red, and a member of Red to re-role and one to remove.
select tests.create_user('recruit-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
select tests.create_user('rerole-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
select tests.create_user('leaver-' || lower(r::text)) from unnest(enum_range(null::public.rank)) r;
insert into public.squad_members (squad_id, user_id)
select s.id, p.id from public.squads s, public.profiles p where s.name = 'Red' and (p.callsign like 'rerole-%' or p.callsign like 'leaver-%');

create temp table outcomes (rank public.rank, action text, outcome text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$
  insert into outcomes values
    ($1, 'add', tests.affected(format(
      'insert into public.squad_members (squad_id, user_id) select id, tests.member(%L) from public.squads where name = ''Red''',
      'recruit-' || lower($1::text)))),
    ($1, 're-role', tests.affected(format(
      'update public.squad_members set role = ''LEAD'' where user_id = tests.member(%L)', 'rerole-' || lower($1::text)))),
    ($1, 'remove', tests.affected(format(
      'delete from public.squad_members where user_id = tests.member(%L)', 'leaver-' || lower($1::text))))
$$);
select results_eq($$ select rank, outcome from outcomes where action = 'add' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', 'refused 42501', '1 rows') $$,
  'outside the squad, every rank below FOUNDER is refused adding a member; FOUNDER and PIONEER add one');
select results_eq($$ select rank, outcome from outcomes where action = 're-role' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'outside the squad, every rank below FOUNDER re-roles no member; FOUNDER and PIONEER do');
select results_eq($$ select rank, outcome from outcomes where action = 'remove' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'outside the squad, every rank below FOUNDER removes no member; FOUNDER and PIONEER do');
select set_eq($$ select p.callsign from public.squad_members m join public.profiles p on p.id = m.user_id
                  where m.role = 'LEAD' and p.callsign like 'rerole-%' $$,
  array['rerole-founder', 'rerole-pioneer'], 'only the FOUNDER''s and the PIONEER''s re-roles are stored');

-- A plain MEMBER (a VOYAGER) cannot make themselves or anyone LEAD, demote the LEAD or remove anyone.
select tests.authenticate_as(tests.member('red-one'));
select is(tests.affected($$ update public.squad_members set role = 'LEAD' where user_id = auth.uid() $$), '0 rows',
  'a plain MEMBER cannot promote themselves to LEAD');
select is(tests.affected($$ update public.squad_members set role = 'LEAD' where user_id = tests.member('red-two') $$), '0 rows',
  'nor another member');
select is(tests.affected($$ update public.squad_members set role = 'MEMBER' where user_id = tests.member('red-lead') $$), '0 rows',
  'nor demote the LEAD');
select is(tests.affected($$ delete from public.squad_members where user_id = auth.uid() $$), '0 rows',
  'nor remove themselves (a LEAD does)');
reset role;
select results_eq($$ select p.callsign, m.role from public.squad_members m join public.profiles p on p.id = m.user_id
                      where p.callsign in ('red-lead', 'red-one', 'red-two') order by 1 $$,
  $$ values ('red-lead', 'LEAD'), ('red-one', 'MEMBER'), ('red-two', 'MEMBER') $$, 'Red''s roles are as they were');

-- A LEAD re-roles and removes in their own squad only, and cannot move a member to another squad.
select tests.authenticate_as(tests.member('red-lead'));
select is(tests.affected($$ update public.squad_members set role = 'LEAD' where user_id = tests.member('red-two') $$), '1 rows',
  'a LEAD makes a member of their squad a LEAD');
select is(tests.affected($$ update public.squad_members set role = 'LEAD' where user_id = tests.member('blue-one') $$), '0 rows',
  'a LEAD cannot re-role a member of another squad');
select is(tests.affected($$ update public.squad_members set squad_id = (select id from public.squads where name = 'Blue')
                            where user_id = tests.member('red-one') $$), 'refused 42501',
  'a LEAD cannot move a member into another squad (only role is writable)');
select is(tests.affected($$ delete from public.squad_members where user_id = tests.member('red-one') $$), '1 rows',
  'a LEAD removes a member of their squad');
reset role;

-- anon holds no grant on rosters at all.
select tests.clear_authentication();
select is(tests.affected($$ update public.squad_members set role = 'LEAD' $$), 'refused 42501', 'anon cannot re-role anyone');
select is(tests.affected($$ delete from public.squad_members $$), 'refused 42501', 'anon cannot remove anyone');
reset role;

select * from finish();
rollback;

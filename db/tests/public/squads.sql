begin;
select plan(14);

/*
 * squads: every member sees every squad; FOUNDER+ create and delete squads; FOUNDER+ and the squad's own LEADs
 * rename it. Tried as every rank, as a LEAD of another squad, as a plain MEMBER and as anon.
 */
select tests.create_squad('Red', array[tests.create_user('red-lead', 'SCOUT'), tests.create_user('red-one', 'VOYAGER')]);
select tests.create_squad('Blue', array[tests.create_user('blue-lead', 'VOYAGER')]);
-- One squad per rank to rename and one to delete, so each rank's attempt is independent of the others'.
select tests.create_squad('Rename ' || r) from unnest(enum_range(null::public.rank)) r;
select tests.create_squad('Delete ' || r) from unnest(enum_range(null::public.rank)) r;

create temp table outcomes (rank public.rank, action text, outcome text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$
  insert into outcomes values
    ($1, 'see', (select count(*) from public.squads where name in ('Red', 'Blue')) || ' squads'),
    ($1, 'create', tests.affected(format('insert into public.squads (name) values (%L)', 'New ' || $1))),
    ($1, 'rename', tests.affected(format('update public.squads set name = %L where name = %L', 'Renamed ' || $1, 'Rename ' || $1))),
    ($1, 'delete', tests.affected(format('delete from public.squads where name = %L', 'Delete ' || $1)))
$$);

select results_eq($$ select rank, outcome from outcomes where action = 'see' order by 1 $$,
  $$ select r, '2 squads' from unnest(enum_range(null::public.rank)) r $$,
  'every rank sees every squad');
select results_eq($$ select rank, outcome from outcomes where action = 'create' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', 'refused 42501', '1 rows') $$,
  'every rank below FOUNDER is refused creating a squad; FOUNDER and PIONEER create one');
select results_eq($$ select rank, outcome from outcomes where action = 'rename' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'every rank below FOUNDER renames no squad it does not lead; FOUNDER and PIONEER rename any');
select results_eq($$ select rank, outcome from outcomes where action = 'delete' order by 1 $$,
  $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$,
  'every rank below FOUNDER deletes no squad; FOUNDER and PIONEER delete one');
select set_eq($$ select name from public.squads where name like 'Delete %' $$,
  array['Delete VAGRANT', 'Delete AFFILIATE', 'Delete SCOUT', 'Delete VOYAGER'],
  'the squads the lower ranks tried to delete are all still there');

-- A squad's LEAD renames it, and only it; neither creating nor deleting comes with leading.
select tests.authenticate_as(tests.member('red-lead'));
select is(tests.affected($$ update public.squads set name = 'Red Wing' where name = 'Red' $$), '1 rows', 'a LEAD renames their own squad');
select is(tests.affected($$ update public.squads set name = 'Blue Stolen' where name = 'Blue' $$), '0 rows',
  'a LEAD cannot rename another squad');
select is(tests.affected($$ delete from public.squads where name = 'Red Wing' $$), '0 rows', 'a LEAD (a SCOUT) cannot delete their own squad');
select is(tests.affected($$ insert into public.squads (name) values ('Red Two') $$), 'refused 42501', 'nor create another one');
reset role;

-- A plain MEMBER of the squad, a VOYAGER, is no LEAD.
select tests.authenticate_as(tests.member('red-one'));
select is(tests.affected($$ update public.squads set description = 'ours now' where name = 'Red Wing' $$), '0 rows',
  'a plain MEMBER cannot rename or describe their squad');
reset role;
select results_eq($$ select name, description from public.squads where name in ('Red Wing', 'Blue') order by 1 $$,
  $$ values ('Blue', null::text), ('Red Wing', null::text) $$, 'only the LEAD''s rename is stored');

-- anon holds no grant on squads at all.
select tests.clear_authentication();
select is(tests.affected($$ insert into public.squads (name) values ('Anon') $$), 'refused 42501', 'anon cannot create a squad');
select is(tests.affected($$ update public.squads set name = 'Anon' $$), 'refused 42501', 'anon cannot rename a squad');
select is(tests.affected($$ delete from public.squads $$), 'refused 42501', 'anon cannot delete a squad');
reset role;

select * from finish();
rollback;

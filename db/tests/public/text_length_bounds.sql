begin;
select plan(15);

/*
 * Every member-writable text has a length bound (security review: a squad LEAD stored 90 000 characters in
 * squads.description, downloaded by every member). Tried by those who may write each: a squad's LEAD (an
 * AFFILIATE), a FOUNDER, a PIONEER on nets, and service_role; 2000 characters pass, 2001 do not.
 */
select tests.create_user('lead', 'AFFILIATE');
select tests.user_of_rank('FOUNDER');
select tests.user_of_rank('PIONEER');
select tests.create_squad('Red Wing', array[tests.member('lead')]);
select tests.create_net('red-wing');
create temp table squad on commit drop as select id from public.squads where name = 'Red Wing';
grant select on squad to public;

-- squads.description
select tests.authenticate_as(tests.member('lead'));
select throws_ok($$ update public.squads set description = repeat('x', 90000) where id = (select id from squad) $$, '23514', null,
  'the squad''s LEAD cannot store 90 000 characters as its description');
select throws_ok($$ update public.squads set description = repeat('x', 2001) where id = (select id from squad) $$, '23514', null,
  'nor 2001');
select is(tests.affected($$ update public.squads set description = repeat('é', 2000) where id = (select id from squad) $$), '1 rows',
  '2000 characters (not bytes) are fine');
reset role;
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ insert into public.squads (name, description) values ('Blue Wing', repeat('x', 2001)) $$, '23514', null,
  'a FOUNDER cannot create a squad with a longer one');
select throws_ok($$ update public.squads set description = repeat('x', 2001) $$, '23514', null, 'nor give one to any squad');
select lives_ok($$ insert into public.squads (name, description) values ('Blue Wing', null) $$, 'no description at all is fine');
reset role;

-- voice_nets.description
create temp table outcomes (rank public.rank, outcome text) on commit drop;
grant all on outcomes to public;
select tests.as_each_rank($$ insert into outcomes select $1, tests.affected('update public.voice_nets set description = repeat(''x'', 2001)') $$);
select results_eq($$ select rank, outcome from outcomes order by rank $$, $$ select * from tests.by_rank('FOUNDER', '0 rows', 'refused 23514') $$,
  'below FOUNDER a net is not theirs to edit at all; from FOUNDER up the bound refuses it');
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ update public.voice_nets set description = repeat('x', 2001) $$, '23514', null,
  'a FOUNDER cannot give a net a description over 2000 characters');
select throws_ok($$ insert into public.voice_nets (name, room_name, description) values ('Blue', 'blue-wing', repeat('x', 2001)) $$, '23514', null,
  'nor create one with it');
select is(tests.affected($$ update public.voice_nets set description = repeat('x', 2000) $$), '1 rows', 'at 2000 it is fine');
reset role;
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ update public.voice_nets set description = repeat('x', 100000) $$, '23514', null, 'a PIONEER neither');
reset role;

-- the table holds it whoever writes: service_role, an operator's SQL
select tests.authenticate_as_service();
select throws_ok($$ update public.squads set description = repeat('x', 2001) $$, '23514', null, 'service_role cannot store a longer squad description');
select throws_ok($$ update public.voice_nets set description = repeat('x', 2001) $$, '23514', null, 'nor net description');
reset role;
select throws_ok($$ update public.squads set description = repeat('x', 2001) $$, '23514', null, 'nor the owner in the SQL editor');

select results_eq($$ select length(description) from public.squads where id = (select id from squad) $$, $$ values (2000) $$,
  'what was stored is the one description within the bound');

select * from finish();
rollback;

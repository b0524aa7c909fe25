begin;
select plan(15);

-- PUT /auth/v1/user with a password and a callsign: all or nothing (auth.change_password_and_callsign). A callsign
-- refused (taken, or against its check) undoes the change, yet the bcrypt it paid still counts against
-- nexus.auth_password_changes_per_hour: a refused rename must not make password changes free of their limit.

create temp table got (name text primary key, o auth.session_outcome) on commit drop;
grant all on got to public;
create function pg_temp.o(n text) returns auth.session_outcome language sql as $$ select o from got where name = n $$;
grant execute on function pg_temp.o(text) to public;

select tests.clear_authentication();
select isnt((auth.register('renamer@example.org', 'renamer-password', 'Renamer', null, '10.4.0.1')).session_id, null, 'a member who will rename');
select isnt((auth.register('holder@example.org', 'holder-password', 'Holder', null, '10.4.0.1')).session_id, null, 'and one holding a callsign');
reset role;
create temp table ids on commit drop as
  select (select id from auth.users where email = 'renamer@example.org') as renamer, (select id from auth.users where email = 'holder@example.org') as holder;
grant select on ids to public;
create function pg_temp.password_is(pw text) returns boolean language sql as $$
  select u.password_hash = crypt(pw, u.password_hash) from auth.users u where u.id = (select renamer from ids)
$$;
create function pg_temp.changes() returns integer language sql as $$
  select count(*)::int from nexus_private.auth_limit_events where kind = 'password_change' and subject = (select renamer from ids)::text
$$;
select set_config('nexus.auth_password_changes_per_hour', '3', true);

select tests.authenticate_as((select renamer from ids));
insert into got select 'taken', auth.change_password_and_callsign('renamer-new-password', 'renamer-password', '10.4.0.1', 'holder');
insert into got select 'format', auth.change_password_and_callsign('renamer-new-password', 'renamer-password', '10.4.0.1', '!!');
reset role;
select is((pg_temp.o('taken')).error, 'CONFLICT', 'a taken callsign (any case) is CONFLICT');
select is((pg_temp.o('taken')).detail, 'callsign holder is taken', 'saying which');
select is((pg_temp.o('format')).error, 'BAD_REQUEST', 'a callsign its check refuses is BAD_REQUEST');
select is((pg_temp.o('format')).detail, 'the request is not valid: a value breaks the check profiles_callsign_format', 'naming the check, not the row');
select ok(pg_temp.password_is('renamer-password'), 'neither changed the password');
select is((select callsign from public.profiles where id = (select renamer from ids)), 'Renamer', 'nor the callsign');
select is(pg_temp.changes(), 2, 'but both paid bcrypt, and both count');

select tests.authenticate_as((select renamer from ids));
insert into got select 'wrong', auth.change_password_and_callsign('renamer-new-password', 'not-the-password', '10.4.0.1', 'Renamed');
insert into got select 'fourth', auth.change_password_and_callsign('renamer-new-password', 'renamer-password', '10.4.0.1', 'Renamed');
reset role;
select is((pg_temp.o('wrong')).error, 'UNAUTHENTICATED', 'a wrong current password is refused');
select is((select callsign from public.profiles where id = (select renamer from ids)), 'Renamer', 'and renames nothing');
select is((pg_temp.o('fourth')).error, 'RATE_LIMITED', 'past the limit (3 an hour here), even a good request is RATE_LIMITED');

select set_config('nexus.auth_password_changes_per_hour', '10', true);
select tests.authenticate_as((select renamer from ids));
insert into got select 'both', auth.change_password_and_callsign('renamer-new-password', 'renamer-password', '10.4.0.1', 'Renamed');
reset role;
select ok((pg_temp.o('both')).error is null and pg_temp.password_is('renamer-new-password')
          and (select callsign from public.profiles where id = (select renamer from ids)) = 'Renamed', 'both fine: both applied');

-- Who may call them: members only, and count_password_change counts for the caller alone.
select tests.clear_authentication();
select throws_ok($$ select auth.change_password_and_callsign('x-password', null, null, 'Anon') $$, '42501', null, 'anon may not call it');
select throws_ok($$ select nexus_private.count_password_change() $$, '42501', null, 'nor count changes');
reset role;

select * from finish();
rollback;

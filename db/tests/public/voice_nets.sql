begin;
select plan(39);

/*
 * voice_nets: the shape operators rely on, the CHECKs on the gates, who sees which net (only the nets they may
 * join) and who may create, edit and delete nets (FOUNDER+, never above their own rank).
 */
select has_column('public', 'voice_nets', 'min_rank_to_join', 'voice_nets has min_rank_to_join (voice_nets_rbac)');
select has_column('public', 'voice_nets', 'min_rank_to_rx', 'voice_nets has min_rank_to_rx (voice_nets_rbac)');
select has_column('public', 'voice_nets', 'min_rank_to_tx', 'voice_nets has min_rank_to_tx (voice_nets_rbac)');
select has_column('public', 'voice_nets', 'linked_squad_id', 'voice_nets has linked_squad_id (voice_nets_rbac)');
select ok(exists(select 1 from dbmate.schema_migrations where version = '20261125001200'),
  'the migration the runbook calls voice_nets_rbac is recorded as applied');

-- The runbook's SQL-editor habit, verbatim, as a superuser.
select lives_ok($$
  insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
  values ('Operations', 'ops-net', 'SCOUT', 'SCOUT', 'VOYAGER')
$$, 'an operator''s insert naming only name, room_name and the three gates works; every other column defaults');
select throws_ok($$
  insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
  values ('Bad rx', 'bad-rx', 'SCOUT', 'AFFILIATE', 'SCOUT')
$$, '23514', null, 'a net whose rx gate is below its join gate is refused (join <= rx)');
select throws_ok($$
  insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
  values ('Bad tx', 'bad-tx', 'VOYAGER', 'VOYAGER', 'VAGRANT')
$$, '23514', null, 'a net whose tx gate is below its join gate is refused (join <= tx)');
select throws_ok($$
  insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
  values ('Ops again', 'ops-net', 'SCOUT', 'SCOUT', 'SCOUT')
$$, '23505', null, 'room names are unique');

-- Nets: open, gated at each rank, and one tied to a squad.
create temp table gates (room text, join_rank public.rank, squad boolean) on commit drop;
grant all on gates to public;
insert into gates select 'gate-' || lower(r::text), r, false from unnest(enum_range(null::public.rank)) r;
insert into gates values ('squad-net', 'VAGRANT', true);
select tests.create_net(room, join_rank) from gates where not squad;
select tests.create_net('squad-net', 'VAGRANT', squad => tests.create_squad('Red Wing', array[tests.create_user('Squaddie', 'VAGRANT')]));
delete from public.voice_nets where room_name = 'ops-net';

create temp table seen (rank public.rank, room text) on commit drop;
grant all on seen to public;
select tests.as_each_rank($$ insert into seen select $1, n.room_name from public.voice_nets n $$);
select results_eq(
  $$ select rank, room from seen order by 1, 2 $$,
  $$ select r, g.room from unnest(enum_range(null::public.rank)) r, gates g
      where r >= g.join_rank and (not g.squad or r >= 'FOUNDER') order by 1, 2 $$,
  'every rank sees exactly the nets whose join gate it meets; a squad net only FOUNDER+ outside the squad');

select tests.authenticate_as((select id from public.profiles where callsign = 'Squaddie'));
select set_eq($$ select room_name from public.voice_nets $$, array['gate-vagrant', 'squad-net'],
  'a VAGRANT in a squad sees the open nets and their squad''s net');
reset role;

select tests.clear_authentication();
select throws_ok($$ select * from public.voice_nets $$, '42501', null, 'anon cannot read voice nets');
reset role;

-- Writes: FOUNDER+ only, never a net gated above the writer's own rank.
select tests.authenticate_as(tests.user_of_rank('VOYAGER'));
select throws_ok($$ insert into public.voice_nets (name, room_name) values ('Mine', 'voyager-net') $$,
  '42501', null, 'a VOYAGER cannot create a net');
update public.voice_nets set name = 'renamed' where room_name = 'gate-vagrant';
delete from public.voice_nets where room_name = 'gate-scout';
reset role;
select is((select name from public.voice_nets where room_name = 'gate-vagrant'), 'gate-vagrant',
  'a VOYAGER cannot rename a net');
select ok(tests.net('gate-scout') is not null, 'a VOYAGER cannot delete a net');

select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select lives_ok($$ insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                   values ('Wing', 'wing-net', 'AFFILIATE', 'AFFILIATE', 'SCOUT') $$,
  'a FOUNDER creates a net');
-- What PostGraphile's createVoiceNet / updateVoiceNet / deleteVoiceNet send: each with RETURNING, which meets the
-- select policy before the new row version is visible to can_join_net's lookup by id.
select lives_ok($$ insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                   values ('Ret', 'ret-net', 'FOUNDER', 'FOUNDER', 'FOUNDER') returning id, room_name $$,
  'a FOUNDER''s insert … returning gets the new net back (createVoiceNet)');
select lives_ok(format($$ insert into public.voice_nets (name, room_name, linked_squad_id)
                          values ('Squad wing', 'squad-wing-net', %L) returning id $$,
                       (select linked_squad_id from public.voice_nets where room_name = 'squad-net')),
  'a FOUNDER''s insert … returning of a net tied to a squad they are not in works (FOUNDER+ are exempt)');
select lives_ok($$ update public.voice_nets set min_rank_to_tx = 'PIONEER' where room_name = 'ret-net' returning id, min_rank_to_tx $$,
  'a FOUNDER''s update … returning gets the edited net back (updateVoiceNet)');
select results_eq($$ select room_name, min_rank_to_tx::text from public.voice_nets where room_name in ('ret-net', 'squad-wing-net') order by 1 $$,
  $$ values ('ret-net', 'PIONEER'), ('squad-wing-net', 'VAGRANT') $$, 'and the FOUNDER sees both nets afterwards');
select lives_ok($$ delete from public.voice_nets where room_name = 'ret-net' returning id $$,
  'a FOUNDER''s delete … returning works (deleteVoiceNet)');
select throws_ok($$ insert into public.voice_nets (name, room_name, min_rank_to_join) values ('Top', 'top-net', 'PIONEER') $$,
  '42501', null, 'a FOUNDER cannot create a net they could not join');
select throws_ok($$ update public.voice_nets set min_rank_to_join = 'PIONEER', min_rank_to_rx = 'PIONEER', min_rank_to_tx = 'PIONEER'
                    where room_name = 'wing-net' $$,
  '42501', null, 'a FOUNDER cannot raise a net''s join gate above their own rank');
select lives_ok($$ update public.voice_nets set min_rank_to_tx = 'VOYAGER' where room_name = 'wing-net' $$,
  'a FOUNDER edits a net''s gates');
update public.voice_nets set name = 'hijacked' where room_name = 'gate-pioneer';
select lives_ok($$ delete from public.voice_nets where room_name = 'gate-founder' $$, 'a FOUNDER deletes a net');
reset role;
select is((select min_rank_to_tx from public.voice_nets where room_name = 'wing-net'), 'VOYAGER'::public.rank,
  'the FOUNDER''s edit is stored');
select is((select name from public.voice_nets where room_name = 'gate-pioneer'), 'gate-pioneer',
  'a FOUNDER cannot edit a net gated above them');
select ok(tests.net('gate-founder') is null, 'the FOUNDER''s delete is stored');

select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select lives_ok($$ update public.voice_nets set name = 'Pioneers only' where room_name = 'gate-pioneer' $$,
  'a PIONEER edits the PIONEER net');
select throws_ok($$ update public.voice_nets set id = gen_random_uuid() where room_name = 'gate-pioneer' $$,
  '42501', null, 'nobody rewrites a net''s id');
reset role;

-- ON DELETE RESTRICT: PostgreSQL 18 reports restrict_violation (23001), earlier releases foreign_key_violation.
select throws_ok($$ delete from public.squads where name = 'Red Wing' $$,
  case when current_setting('server_version_num')::int >= 180000 then '23001' else '23503' end, null,
  'a squad that gates a net cannot be deleted (that would open the net)');

-- A net's room must be ours: never a sim pod's, never a room someone else's participants are in.
reset role;
insert into public.voice_presence (room_name, participant_identity, participant_sid, joined_at)
values ('other-app-room', 'sip_+15551234', 'PA_foreign', now()),
       ('left-room', 'sip_+15550000', 'PA_gone', now() - interval '1 hour');
update public.voice_presence set left_at = now() where participant_sid = 'PA_gone';
insert into nexus_private.retired_net_rooms (room_name, net_id) values ('was-a-net', gen_random_uuid());
insert into public.voice_presence (room_name, participant_identity, participant_sid, joined_at)
values ('was-a-net', tests.user_of_rank('SCOUT')::text, 'PA_stays', now());
select tests.authenticate_as(tests.user_of_rank('FOUNDER'));
select throws_ok($$ insert into public.voice_nets (name, room_name) values ('Pod', 'sim-pod-0123456789abcdef0123456789abcdef') $$,
  '23514', null, 'no net may take a sim pod''s room (they are private to cadet and mentor)');
select throws_ok($$ update public.voice_nets set room_name = 'SIM-POD-x' where room_name = 'wing-net' $$,
  '23514', null, 'nor be renamed to one, whatever the case');
select throws_ok($$ insert into public.voice_nets (name, room_name) values ('Hijack', 'other-app-room') $$,
  'NX409', 'CONFLICT', 'a FOUNDER cannot name a net after a room others are in that was never a net''s');
select throws_ok($$ update public.voice_nets set room_name = 'other-app-room' where room_name = 'wing-net' $$,
  'NX409', 'CONFLICT', 'nor move a net into it');
select lives_ok($$ insert into public.voice_nets (name, room_name) values ('Empty', 'left-room') $$,
  'a room whose participants have all left is free');
select lives_ok($$ insert into public.voice_nets (name, room_name) values ('Back', 'was-a-net') $$,
  'a room that was a net''s may become a net again, people in it or not');
select lives_ok($$ update public.voice_nets set name = 'Wing II' where room_name = 'wing-net' $$,
  'an edit that keeps the room is not asked');
select tests.authenticate_as_service();
select lives_ok($$ insert into public.voice_nets (name, room_name) values ('Adopted', 'other-app-room') $$,
  'an operator (service_role) may adopt an occupied room on purpose');
reset role;

select * from finish();
rollback;

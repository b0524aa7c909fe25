begin;
select plan(34);

/*
 * Live voice rights when a net gives up its room (db/functions/63_voice_rights_live.sql, retired_net_rooms): a
 * net deleted, or its room_name changed, leaves its old room retired, and whoever is still connected there is due
 * a removal, through the net's own job. A room never ours is never decided; a net that takes a retired name again
 * decides its room normally. The table and the trigger's function are nobody's through the API.
 */

/* What the worker would now do for this net's job: (room, identity, action) of every decision due. */
create function pg_temp.due(net uuid) returns table (room_name text, participant_identity text, action text)
language sql as $$ select d.room_name, d.participant_identity, d.action from nexus_private.voice_rights_due(null, array[net], null) d $$;

select tests.create_user('rooms-scout', 'SCOUT');
select tests.create_user('rooms-voyager', 'VOYAGER');
select tests.create_user('rooms-founder', 'FOUNDER');
select tests.create_user('rooms-pioneer', 'PIONEER');
select tests.create_net('rooms-doomed', 'SCOUT', 'SCOUT', 'SCOUT');
select tests.create_net('rooms-old', 'SCOUT', 'SCOUT', 'SCOUT');
select tests.create_net('rooms-keep', 'SCOUT', 'SCOUT', 'SCOUT');
select tests.create_net('rooms-quiet', 'SCOUT', 'SCOUT', 'SCOUT');
create temp table net as select tests.net(r) as id, r as room from unnest(array['rooms-doomed', 'rooms-old', 'rooms-keep', 'rooms-quiet']) r;
grant select on net to public;
create temp table present as
  select s.sid, tests.join_room(s.room, tests.member(s.callsign)::text, s.sid) as id
    from (values ('PA_doomed', 'rooms-doomed', 'rooms-scout'), ('PA_old', 'rooms-old', 'rooms-voyager'),
                 ('PA_keep', 'rooms-keep', 'rooms-scout'), ('PA_elsewhere', 'other-app-room', 'rooms-voyager')) s (sid, room, callsign);
grant select on present to public;
select is_empty($$ select * from tests.voice_rights_jobs $$, 'joining with the rights the rules give enqueues nothing');

-- A room never ours ---------------------------------------------------------------------------------------------
select is_empty($$ select * from nexus_private.voice_rights_decisions((select array_agg(id) from present where sid = 'PA_elsewhere'), null, null, null) $$,
  'a participant in a room that was never a net''s nor a sim pod''s is not decided: no row');
select is_empty($$ select * from nexus_private.voice_rights_decisions(null, array[tests.member('rooms-voyager')], null, null) where room_name = 'other-app-room' $$,
  'not through their member''s scope either');

-- A net deleted (by a FOUNDER, through the API's role) ---------------------------------------------------------
select tests.authenticate_as(tests.member('rooms-founder'));
select lives_ok($$ delete from public.voice_nets where room_name = 'rooms-doomed' $$, 'a FOUNDER deletes a net with someone in its room');
reset role;
select set_config('request.jwt.claims', '', true);
select results_eq($$ select room_name, net_id from nexus_private.retired_net_rooms $$,
  $$ select room, id from net where room = 'rooms-doomed' $$, 'its room is retired, naming the net it was');
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ select 'net:' || id from net where room = 'rooms-doomed' $$,
  'the deletion enqueues the deleted net''s job');
select results_eq(
  $$ select kind, details, actor_id from nexus_private.voice_rights_changes where net_id = (select id from net where room = 'rooms-doomed') $$,
  $$ values ('net_deleted', '{"room_name": "rooms-doomed"}'::jsonb, tests.member('rooms-founder')) $$,
  'the change says which room went, and who deleted the net');
select results_eq($$ select * from pg_temp.due((select id from net where room = 'rooms-doomed')) $$,
  $$ values ('rooms-doomed', tests.member('rooms-scout')::text, 'remove') $$,
  'the job is due to remove whoever is in the deleted net''s room');
select results_eq(
  $$ select net_id, can_join, can_subscribe, can_publish, action from nexus_private.voice_rights_decisions((select array_agg(id) from present where sid = 'PA_doomed'), null, null, null) $$,
  $$ select id, false, false, false, 'remove' from net where room = 'rooms-doomed' $$,
  'the decision for that participant: may do nothing there, removed, for the net that was');
select results_eq(
  $$ select room_name, action from nexus_private.voice_rights_due(array[tests.member('rooms-scout')], null, null) $$,
  $$ values ('rooms-doomed', 'remove') $$,
  'any later job for that member removes them there too, and leaves their other nets alone');

-- The worker's round: claimed, removed, recorded; run again (a retry, a crash after LiveKit answered) finds nothing.
select tests.authenticate_as_service();
select results_eq($$ select room_name, action from nexus_private.voice_rights_claim(null, (select array_agg(id) from net where room = 'rooms-doomed'), null) $$,
  $$ values ('rooms-doomed', 'remove') $$, 'the worker claims that removal');
select is(nexus_private.voice_rights_record(
    (select jsonb_agg(jsonb_build_object('presence', id, 'action', 'remove', 'outcome', 'removed')) from present where sid = 'PA_doomed'),
    (select array_agg(c.id) from nexus_private.voice_rights_changes c where c.kind = 'net_deleted')), 1,
  'and records LiveKit''s answer');
reset role;
select results_eq($$ select action, outcome, net_id from nexus_private.voice_rights_log where room_name = 'rooms-doomed' $$,
  $$ select 'remove', 'removed', id from net where room = 'rooms-doomed' $$, 'the audit row names the deleted net');
select is_empty($$ select * from pg_temp.due((select id from net where room = 'rooms-doomed')) $$,
  'the same job run again sends nothing: nothing is removed twice');

-- A net's room renamed (operator SQL) -----------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
update public.voice_nets set room_name = 'rooms-new' where room_name = 'rooms-old';
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ select 'net:' || id from net where room = 'rooms-old' $$,
  'renaming a net''s room enqueues that net''s job only');
select is((select details from nexus_private.voice_rights_changes where kind = 'net_room_renamed'),
  '{"room_name": "rooms-old", "new_room_name": "rooms-new"}'::jsonb, 'the change names the old room and the new one');
select tests.join_room('rooms-new', tests.member('rooms-scout')::text, 'PA_new');
select results_eq($$ select * from pg_temp.due((select id from net where room = 'rooms-old')) $$,
  $$ values ('rooms-old', tests.member('rooms-voyager')::text, 'remove') $$,
  'the renamed net''s job removes whoever is in its old room, and leaves its new room''s participant (on a token for it) alone');
select results_eq($$ select room_name, action from nexus_private.voice_rights_decisions((select array_agg(id) from present where sid in ('PA_keep', 'PA_elsewhere')), null, null, null) $$,
  $$ values ('rooms-keep', null::text) $$,
  'a participant in another net''s room is decided normally (due nothing), one in a room never ours not at all');

select tests.reset_voice_rights_jobs();
update public.voice_nets set room_name = 'rooms-quiet-2' where room_name = 'rooms-quiet';
select is_empty($$ select * from tests.voice_rights_jobs $$, 'a room renamed with nobody in it enqueues nothing');
select ok(exists (select 1 from nexus_private.retired_net_rooms where room_name = 'rooms-quiet'), 'but the room is retired all the same');
select tests.join_room('rooms-quiet', tests.member('rooms-scout')::text, 'PA_late');
select results_eq($$ select j.subject, c.details ->> 'action' from tests.voice_rights_jobs j
                       join nexus_private.voice_rights_changes c on j.subject = 'member:' || c.member_id and c.kind = 'joined_out_of_date' $$,
  $$ values ('member:' || tests.member('rooms-scout'), 'remove') $$,
  'a join on a token signed for the old name (before the rename) is removed at the join');

-- A net takes a retired name again -------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
select tests.authenticate_as(tests.member('rooms-founder'));
select lives_ok($$ insert into public.voice_nets (name, room_name) values ('Reborn', 'rooms-doomed') $$, 'a FOUNDER creates a net with the deleted net''s room name');
reset role;
select set_config('request.jwt.claims', '', true);
select is_empty($$ select * from nexus_private.retired_net_rooms where room_name = 'rooms-doomed' $$, 'that room is no longer retired');
select tests.join_room('rooms-doomed', tests.member('rooms-scout')::text, 'PA_reborn', '{}', false);
select results_eq(
  $$ select net_id, action, can_publish from nexus_private.voice_rights_decisions((select array_agg(p.id) from public.voice_presence p where p.participant_sid = 'PA_reborn'), null, null, null) $$,
  $$ select id, 'update', true from public.voice_nets where room_name = 'rooms-doomed' $$,
  'a participant there is decided by the new net''s rules (an open net: may speak)');
select is_empty($$ select * from pg_temp.due((select id from net where room = 'rooms-doomed')) $$, 'and no longer by the deleted net''s job');
update public.voice_nets set room_name = 'rooms-quiet' where room_name = 'rooms-quiet-2';
select is_empty($$ select * from nexus_private.retired_net_rooms where room_name = 'rooms-quiet' $$,
  'a net renamed back to its old room takes it back too');

-- Retired rooms are kept while anyone is there ------------------------------------------------------------------
update nexus_private.retired_net_rooms set retired_at = now() - interval '31 days';
insert into nexus_private.retired_net_rooms (room_name, net_id, retired_at) values ('rooms-long-gone', gen_random_uuid(), now() - interval '31 days');
select nexus_private.voice_rights_prune();
select results_eq($$ select room_name from nexus_private.retired_net_rooms order by 1 $$, $$ values ('rooms-old') $$,
  'pruning drops retired rooms older than 30 days with nobody in them, and keeps one someone is still in');

-- Nobody's through the API ---------------------------------------------------------------------------------------
select tests.authenticate_as(tests.member('rooms-pioneer'));
select throws_ok($$ select * from nexus_private.retired_net_rooms $$, '42501', null, 'a member (even a PIONEER) may not read retired rooms');
select throws_ok($$ insert into nexus_private.retired_net_rooms (room_name, net_id) values ('rooms-keep', gen_random_uuid()) $$, '42501', null,
  'a member may not retire a room (which would have its participants removed)');
select throws_ok($$ select nexus_private.voice_rights_on_voice_net_rooms() $$, '42501', null, 'a member may not call the trigger''s function');
select tests.authenticate_as(tests.member('rooms-scout'));
select throws_ok($$ delete from nexus_private.retired_net_rooms $$, '42501', null, 'a SCOUT may not un-retire rooms');
select tests.clear_authentication();
select throws_ok($$ select * from nexus_private.retired_net_rooms $$, '42501', null, 'anon may not read retired rooms');
select tests.authenticate_as_service();
select lives_ok($$ select * from nexus_private.retired_net_rooms $$, 'service_role reads retired rooms');
select throws_ok($$ insert into nexus_private.retired_net_rooms (room_name, net_id) values ('rooms-keep', gen_random_uuid()) $$, '42501', null,
  'service_role reads retired rooms but does not write them: only the triggers do');
reset role;

select * from finish();
rollback;

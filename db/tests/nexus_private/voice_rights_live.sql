begin;
select plan(45);

/*
 * Live voice rights (db/functions/63_voice_rights_live.sql): every kind of change that can move a member's
 * clearance on a net enqueues exactly the affected members, nets and sim pods, in coalescing jobs (members under
 * four shared keys, a net or a sim pod under its own);
 * changes that move nobody's clearance enqueue nothing; the decisions follow the token rules; the worker's
 * functions are for service_role only.
 */

select tests.create_user('live-scout', 'SCOUT');
select tests.create_user('live-voyager', 'VOYAGER');
select tests.create_user('live-other', 'SCOUT');
select tests.create_user('live-doomed', 'SCOUT');
select tests.create_user('live-absent', 'SCOUT');
select tests.create_net('live-ops', 'SCOUT', 'SCOUT', 'VOYAGER');
select tests.create_net('live-lobby', 'VAGRANT', 'VAGRANT', 'SCOUT');
select tests.create_net('live-empty', 'VAGRANT', 'VAGRANT', 'SCOUT');
-- Who is connected, each with the rights the rules give them now (as a fresh token would).
select tests.join_room('live-lobby', tests.member(m)::text, 'PA_lobby_' || m) from unnest(array['live-scout', 'live-voyager', 'live-other', 'live-doomed']) m;
select tests.join_room('live-ops', tests.member('live-voyager')::text, 'PA_ops_voyager');
select is_empty($$ select * from tests.voice_rights_jobs $$, 'joining with the rights the rules give enqueues nothing');
select tests.join_room('live-ops', tests.member('live-scout')::text, 'PA_ops_scout_stale', '{}', true);
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('member:' || tests.member('live-scout')) $$,
  'joining with rights that no longer match (a SCOUT speaking where tx is VOYAGER: an old token) enqueues that member''s job');
select is((select details ->> 'action' from nexus_private.voice_rights_changes where kind = 'joined_out_of_date'), 'update',
  'and the change says what the join needs');
select nexus_private.apply_livekit_event(jsonb_build_object('id', 'ev-left', 'event', 'participant_left', 'room', 'live-ops',
  'createdAt', extract(epoch from now()), 'participant', jsonb_build_object('identity', tests.member('live-scout'), 'sid', 'PA_ops_scout_stale')));
select tests.reset_voice_rights_jobs();

update public.profiles set rank = 'AFFILIATE' where id = tests.member('live-absent');
update public.voice_nets set min_rank_to_tx = 'FOUNDER' where id = tests.net('live-empty');
select is_empty($$ select * from tests.voice_rights_jobs $$, 'a member with nobody connected, or a net with nobody in its room, enqueues nothing');

-- Ranks ------------------------------------------------------------------------------------------------------
update public.profiles set rank = 'AFFILIATE' where id = tests.member('live-scout');
select results_eq($$ select subject, changes from tests.voice_rights_jobs $$,
  $$ values ('member:' || tests.member('live-scout'), 1) $$,
  'a rank change enqueues one job for that member and nobody else');
select is((select kind || ' ' || (details ->> 'from') || '->' || (details ->> 'to') || ' by ' || actor_role
             from nexus_private.voice_rights_changes where member_id = tests.member('live-scout') and kind = 'rank_changed'),
  'rank_changed SCOUT->AFFILIATE by sql:postgres', 'the change says what moved and who moved it (operator SQL)');

update public.profiles set rank = 'SCOUT' where id = tests.member('live-scout');
update public.profiles set rank = 'VOYAGER' where id = tests.member('live-scout');
update public.profiles set rank = 'SCOUT' where id = tests.member('live-scout');
select results_eq($$ select subject, changes from tests.voice_rights_jobs $$,
  $$ values ('member:' || tests.member('live-scout'), 4) $$,
  'further rank edits of the same member join the waiting job instead of adding jobs');

select tests.reset_voice_rights_jobs();
update public.profiles set rank = 'VOYAGER' where id in (tests.member('live-scout'), tests.member('live-other'));
select results_eq($$ select subject from tests.voice_rights_jobs order by subject $$,
  $$ select 'member:' || m from unnest(array[tests.member('live-scout'), tests.member('live-other')]) m order by 1 $$,
  'one statement changing two ranks enqueues both members');

select tests.reset_voice_rights_jobs();
select tests.create_user('live-many-' || i, 'SCOUT') from generate_series(1, 40) i;
select tests.join_room('live-lobby', tests.member('live-many-' || i)::text, 'PA_many_' || i) from generate_series(1, 40) i;
update public.profiles set rank = 'VOYAGER' where callsign like 'live-many-%';
select results_eq(
  $$ select count(distinct subject)::int, count(distinct key) <= 4, bool_and(key ~ '^voice_rights:members:[0-3]:[0-9]+$') from tests.voice_rights_jobs $$,
  $$ values (40, true, true) $$,
  'forty members'' rank changes are forty subjects in at most four jobs: members share four keys, so a burst is a few jobs');
select results_eq(
  $$ select nexus_private.voice_rights_job_key(c, tests.member('live-scout'), null, null) from unnest(array[0, 255, 256, 511, 512]::bigint[]) c $$,
  $$ select 'voice_rights:members:' || (hashtext(tests.member('live-scout')::text) & 3) || ':' || g from unnest(array[0, 0, 1, 1, 2]) g $$,
  'a member''s key starts again every 256 changes (by change id), so no waiting job takes changes without end');

select tests.reset_voice_rights_jobs();
update public.profiles set callsign = 'live-scout-2' where id = tests.member('live-scout');
update public.profiles set callsign = 'live-scout' where id = tests.member('live-scout-2');
update public.profiles set rank = rank where id = tests.member('live-voyager');
select is_empty($$ select * from tests.voice_rights_jobs $$, 'a callsign edit, or a rank set to what it was, enqueues nothing');

-- Through set_member_rank as a member: the trigger runs for the API roles too, and names the member.
select tests.create_user('live-pioneer', 'PIONEER');
select tests.authenticate_as(tests.member('live-pioneer'));
select public.set_member_rank(tests.member('live-voyager'), 'SCOUT');
reset role;
select is((select actor_id from nexus_private.voice_rights_changes where member_id = tests.member('live-voyager') and kind = 'rank_changed'),
  tests.member('live-pioneer'), 'a rank change through set_member_rank names the member who made it');
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('member:' || tests.member('live-voyager')) $$,
  'a rank change through set_member_rank enqueues that member''s job');

select tests.reset_voice_rights_jobs();
insert into nexus_private.voice_rights_changes (kind, net_id, details, actor_role)
values ('net_gates_changed', tests.net('live-ops'), '{}', 'sql:postgres');
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('net:' || tests.net('live-ops')) $$,
  'a change written by any statement (here operator SQL, no trigger of ours) enqueues its job');

-- Nets ------------------------------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
update public.voice_nets set min_rank_to_tx = 'FOUNDER' where id = tests.net('live-ops');
select results_eq($$ select key, subject from tests.voice_rights_jobs $$, $$ values ('voice_rights:net:' || tests.net('live-ops'), 'net:' || tests.net('live-ops')) $$,
  'a net''s tx gate edited enqueues that net only, under a key of its own');
update public.voice_nets set min_rank_to_join = 'VOYAGER', min_rank_to_rx = 'VOYAGER' where id = tests.net('live-ops');
select results_eq($$ select subject, changes from tests.voice_rights_jobs $$, $$ values ('net:' || tests.net('live-ops'), 2) $$,
  'a second gate edit of the same net joins the waiting job');

select tests.reset_voice_rights_jobs();
update public.voice_nets set name = 'Ops renamed', description = 'just words' where id = tests.net('live-ops');
select is_empty($$ select * from tests.voice_rights_jobs $$, 'renaming a net enqueues nothing');

select tests.create_squad('live-wing', array[tests.member('live-other')]);
select tests.reset_voice_rights_jobs();
update public.voice_nets set linked_squad_id = (select id from public.squads where name = 'live-wing') where id = tests.net('live-lobby');
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('net:' || tests.net('live-lobby')) $$,
  'tying a net to a squad enqueues that net''s job');
select is((select kind from nexus_private.voice_rights_changes where net_id = tests.net('live-lobby') order by id desc limit 1),
  'net_squad_changed', 'and the change says the squad changed');

-- Squads ----------------------------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
insert into public.squad_members (squad_id, user_id) select id, tests.member('live-scout') from public.squads where name = 'live-wing';
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('member:' || tests.member('live-scout')) $$,
  'joining a squad that gates a net enqueues that member''s job');
select tests.reset_voice_rights_jobs();
delete from public.squad_members where user_id = tests.member('live-scout');
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('member:' || tests.member('live-scout')) $$,
  'leaving it enqueues that member''s job');
select tests.create_squad('live-idle', '{}');
select tests.reset_voice_rights_jobs();
insert into public.squad_members (squad_id, user_id) select id, tests.member('live-scout') from public.squads where name = 'live-idle';
delete from public.squad_members where squad_id = (select id from public.squads where name = 'live-idle');
select is_empty($$ select * from tests.voice_rights_jobs $$, 'joining or leaving a squad no net is tied to enqueues nothing');
-- An update that moves a membership is a removal from the old squad and an addition to the new one.
insert into public.squad_members (squad_id, user_id) select id, tests.member('live-scout') from public.squads where name = 'live-idle';
select tests.reset_voice_rights_jobs();
update public.squad_members set squad_id = (select id from public.squads where name = 'live-wing')
 where user_id = tests.member('live-scout');
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ values ('member:' || tests.member('live-scout')) $$,
  'moving a membership into a squad that gates a net enqueues that member''s job');
select results_eq(
  $$ select kind, details ->> 'squad_id' from nexus_private.voice_rights_changes
      where member_id = tests.member('live-scout') order by id desc limit 1 $$,
  $$ select 'squad_member_added'::text, id::text from public.squads where name = 'live-wing' $$,
  'and records an addition to the new squad only (the old one gates nothing)');
select tests.reset_voice_rights_jobs();
update public.squad_members set role = 'LEAD' where user_id = tests.member('live-scout');
select is_empty($$ select * from tests.voice_rights_jobs $$, 'an update that moves nobody (a role) enqueues nothing');
update public.squad_members set squad_id = (select id from public.squads where name = 'live-idle')
 where user_id = tests.member('live-scout');
select results_eq(
  $$ select kind, details ->> 'squad_id' from nexus_private.voice_rights_changes
      where member_id = tests.member('live-scout') order by id desc limit 1 $$,
  $$ select 'squad_member_removed'::text, id::text from public.squads where name = 'live-wing' $$,
  'moving it out of the gating squad records a removal from that squad');
delete from public.squad_members where user_id = tests.member('live-scout');

-- Bridges ---------------------------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
insert into public.voice_net_bridges (source_net_id, target_net_id) values (tests.net('live-ops'), tests.net('live-lobby'));
select results_eq($$ select subject from tests.voice_rights_jobs order by subject $$,
  $$ select 'net:' || n from unnest(array[tests.net('live-ops'), tests.net('live-lobby')]) n order by 1 $$,
  'linking a bridge enqueues both nets');
select tests.reset_voice_rights_jobs();
select tests.authenticate_as_service();
select public.unlink_voice_nets(tests.net('live-lobby'), tests.net('live-ops'));
reset role;
select results_eq($$ select subject from tests.voice_rights_jobs order by subject $$,
  $$ select 'net:' || n from unnest(array[tests.net('live-ops'), tests.net('live-lobby')]) n order by 1 $$,
  'unlinking a bridge enqueues both nets');
select is((select count(*)::int from nexus_private.voice_rights_changes where kind = 'bridge_unlinked' and actor_role = 'service_role'), 2,
  'one unlink change per net, made as service_role');

-- Deleted members -------------------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
create temp table doomed as select tests.member('live-doomed') as id;
delete from auth.users where id = (select id from doomed);
select results_eq($$ select subject from tests.voice_rights_jobs $$, $$ select 'member:' || id from doomed $$,
  'deleting a member enqueues their job');

-- Sim pods --------------------------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
select tests.create_skill('live-piloting');
select tests.certify(tests.member('live-voyager'), tests.skill('live-piloting'));
create temp table pod as
  select a.sim_pod, a.expires
    from (select tests.request_training(tests.member('live-other'), tests.skill('live-piloting')) as request) r
    cross join lateral (select set_config('request.jwt.claims', json_build_object('sub', tests.member('live-voyager'), 'role', 'authenticated')::text, true)) s
    cross join lateral public.accept_training(r.request) a;
select set_config('request.jwt.claims', '', true);
select results_eq($$ select subject, run_at from tests.voice_rights_jobs $$, $$ select 'sim_pod:' || sim_pod, expires from pod $$,
  'a new sim pod enqueues its job for the moment it expires');
update public.sim_pods set expires_at = now() where id = (select sim_pod from pod);
select results_eq($$ select subject, run_at from tests.voice_rights_jobs $$, $$ select 'sim_pod:' || sim_pod, now() from pod $$,
  'moving the expiry earlier (training over) moves the same job');

-- Decisions -------------------------------------------------------------------------------------------------
select tests.reset_voice_rights_jobs();
update public.voice_nets set min_rank_to_join = 'SCOUT', min_rank_to_rx = 'SCOUT', min_rank_to_tx = 'VOYAGER', linked_squad_id = null
 where id in (tests.net('live-ops'), tests.net('live-lobby'));
update public.profiles set rank = 'SCOUT' where id = tests.member('live-scout');
select tests.join_room('live-ops', tests.member('live-scout')::text, 'PA_s1', '{}', true);
select results_eq(
  $$ select action, can_subscribe, can_publish from nexus_private.voice_rights_decisions(null, null, array[tests.net('live-ops')], null)
      where participant_identity = tests.member('live-scout')::text $$,
  $$ values ('update', true, false) $$,
  'a SCOUT who joined speaking on a net whose tx gate is VOYAGER is due a listen-only update');
update public.profiles set rank = 'AFFILIATE' where id = tests.member('live-scout');
select results_eq(
  $$ select room_name, action from nexus_private.voice_rights_due(array[tests.member('live-scout')], null, null) $$,
  $$ values ('live-lobby', 'remove'), ('live-ops', 'remove') $$,
  'below the join gate, they are due a removal');
update public.profiles set rank = 'VOYAGER' where id = tests.member('live-scout');
select is_empty($$ select * from nexus_private.voice_rights_due(array[tests.member('live-scout')], null, null) where room_name = 'live-ops' $$,
  'a VOYAGER holding exactly what the rules give is due nothing');

-- live-other is a VOYAGER, who may speak there; their old token did not let them.
select tests.join_room('live-ops', 'Old Name', 'PA_legacy', jsonb_build_object('userId', tests.member('live-other')), false);
select results_eq(
  $$ select participant_identity, action from nexus_private.voice_rights_due(array[tests.member('live-other')], null, null) $$,
  $$ values ('Old Name', 'update') $$,
  'a participant on the old frontend''s token (identity = display name) is found by metadata.userId');

insert into public.voice_net_bridges (source_net_id, target_net_id) values (tests.net('live-lobby'), tests.net('live-ops'));
select tests.join_room('live-ops', tests.member('live-voyager')::text, 'PA_bridged',
  jsonb_build_object('userId', tests.member('live-voyager'), 'bridgedFrom', tests.net('live-lobby')), true);
update public.profiles set rank = 'VOYAGER' where id = tests.member('live-voyager');
select is_empty($$ select * from nexus_private.voice_rights_due(null, array[tests.net('live-ops')], null) d where d.participant_identity = tests.member('live-voyager')::text $$,
  'a bridged participant holding what the bridge gives is due nothing');
select results_eq(
  $$ select can_join, can_rx, can_tx from nexus_private.presence_clearance(tests.member('live-voyager'), tests.net('live-ops'), tests.net('live-lobby')) $$,
  $$ values (true, true, true) $$, 'the bridge gives them their own rx and tx on the other net');
delete from public.voice_net_bridges;
select results_eq(
  $$ select action from nexus_private.voice_rights_due(null, array[tests.net('live-ops')], null) where participant_identity = tests.member('live-voyager')::text $$,
  $$ values ('remove') $$,
  'once the bridge is unlinked, whoever is in the room by the bridge is due a removal');

-- The worker's functions: service_role only ----------------------------------------------------------------
select tests.authenticate_as(tests.member('live-pioneer'));
select throws_ok($$ select * from nexus_private.voice_rights_due(null, null, null) $$, '42501', null,
  'a member (even a PIONEER) may not list live rights work');
select throws_ok($$ select * from nexus_private.voice_rights_claim(array[tests.member('live-pioneer')], null, null) $$, '42501', null,
  'a member may not claim participants');
select throws_ok($$ select nexus_private.voice_rights_record('[]', '{}') $$, '42501', null,
  'a member may not record LiveKit answers');
select throws_ok($$ select * from nexus_private.voice_rights_log $$, '42501', null, 'a member may not read the live rights audit');
select tests.clear_authentication();
select throws_ok($$ select * from nexus_private.voice_rights_due(null, null, null) $$, '42501', null, 'anon may not either');
select tests.authenticate_as_service();
select lives_ok($$ select * from nexus_private.voice_rights_due(null, null, null) $$, 'service_role lists live rights work');
reset role;

select * from finish();
rollback;

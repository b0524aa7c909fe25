/*
 * Live voice rights (DESIGN.md §3, "Rights apply live"): when a member's clearance on a net can change, the
 * participants already connected get the new decision through LiveKit's RoomService, not only their next token.
 *
 *   1. Triggers on profiles, voice_nets, squad_members, voice_net_bridges and sim_pods write one
 *      voice_rights_changes row per member, net or sim pod whose connected participants may be affected; each
 *      statement writing changes enqueues `voice_rights__apply` jobs for them, keyed by voice_rights_job_key(): one of four keys for members (by a hash
 *      of the member's id, renewed every 256 changes), one per net, one per sim pod. A job still waiting takes
 *      later changes into its payload (graphile-worker appends array payloads under the same key), so a burst of
 *      edits is a few jobs, not one per edit, and a worker that falls behind catches up in batches.
 *   2. The job's scope is the open presence rows of its members, or in its nets' and sim pods' rooms (a net's
 *      rooms include those it gave up: deleted or renamed, retired_net_rooms); each is decided by
 *      presence_decision(): presence_clearance() (the token rules, db/functions/31_voice_access.sql),
 *      sim_pod_presence_clearance(), or removal in a retired room, compared with what LiveKit holds
 *      (presence_rights).
 *   3. In one transaction: voice_rights_claim() locks those participants and decides again (so two jobs never
 *      apply to one participant at once, and a retry skips what was already applied), the worker calls
 *      LiveKit for each, voice_rights_record() stores what LiveKit now holds and the audit rows.
 *
 * Everything the worker calls is security definer and granted to service_role: the worker need not be superuser.
 */

/*
 * Who made a change, for the audit: service_role, a member's role, the role a session switched to, or the
 * database login for operator SQL. The caller's SET ROLE is read from the `role` setting, which security definer
 * functions leave alone.
 */
create or replace function nexus_private.change_actor_role() returns text
language plpgsql stable set search_path = pg_catalog, public as $$
begin
  return case
    when auth.is_service() then 'service_role'
    when auth.uid() is not null then auth.role()
    when coalesce(current_setting('role', true), 'none') <> 'none' then current_setting('role', true)
    else 'sql:' || session_user
  end;
end
$$;

/*
 * The job key a change is enqueued under. Members share four keys, chosen by their id, so changes that wait for
 * the worker pile up in a few jobs: a job's cost is mostly fixed (fetch, claim, record, complete: a dozen
 * statements), so a burst applied one member per job fell ever further behind the commits making it
 * (bench/live-permissions.ts: 1,000 rank changes committed at 300 a second were answered by 1,000 jobs at about 200
 * a second). The keys start again every 256 changes (by change id): graphile-worker rewrites a waiting job's whole
 * payload to append to it, so a job that took every change while the worker was down would make each change cost
 * more than the one before (2.2 ms a change after 1,000 waiting, 6.5 ms after 5,000). One member's edits within
 * those 256 coalesce. Nets and sim pods keep a key each: a net's job covers its whole room, and a sim pod's runs
 * at the pod's expiry, which a shared key would move for every other pod.
 */
drop function if exists nexus_private.voice_rights_job_key(uuid, uuid, text);
create or replace function nexus_private.voice_rights_job_key(change bigint, member uuid, net uuid, sim_pod text) returns text
language sql immutable parallel safe as $$
  select case
    when member is not null then 'voice_rights:members:' || (pg_catalog.hashtext(member::text) & 3) || ':' || (change / 256)
    when net is not null then 'voice_rights:net:' || net
    else 'voice_rights:sim_pod:' || sim_pod
  end
$$;
revoke execute on function nexus_private.voice_rights_job_key(bigint, uuid, uuid, text) from public;

/*
 * Enqueue the jobs for some changes, one per job key, its payload the list of changes ({change, member|net|simPod}),
 * run at once, or at the sim pod's expiry. Also tells the voicePresenceChanged subscriptions of the subjects to
 * check their subscribers again (NOTIFY, delivered at commit). Called for every statement that writes changes
 * (voice_rights_changes_enqueue, below), so whatever records a change has it applied.
 */
create or replace function nexus_private.enqueue_voice_rights(change_ids bigint[]) returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
declare
  specs graphile_worker.job_spec[];
  added text[];
  jobs integer := 0;
  subject record;
begin
  if change_ids is null or cardinality(change_ids) = 0 then
    return 0;
  end if;
  specs := array(
    select row(
        'voice_rights__apply',
        json_agg(json_strip_nulls(json_build_object('change', c.id, 'member', c.member_id, 'net', c.net_id, 'simPod', c.sim_pod_id)) order by c.id),
        null, max((c.details ->> 'runAt')::timestamptz), null, k.job_key, null, null
      )::graphile_worker.job_spec
      from nexus_private.voice_rights_changes c
      cross join lateral (select nexus_private.voice_rights_job_key(c.id, c.member_id, c.net_id, c.sim_pod_id) as job_key) k
     where c.id = any (change_ids)
     group by k.job_key);
  -- add_jobs() skips a spec whose key belongs to a job a worker locked after add_jobs() looked for locked jobs
  -- and before its insert (ON CONFLICT … WHERE locked_at IS NULL then neither updates nor inserts), and the
  -- change would be lost. A spec add_jobs() did not return is added again: by then the job is locked, so its
  -- key is moved to a new job. Three tries, then fail the change rather than lose its job.
  for attempt in 1 .. 3 loop
    select array_agg(j.key) into added from graphile_worker.add_jobs(specs) j;
    jobs := jobs + coalesce(cardinality(added), 0);
    specs := array(select x from unnest(specs) x where x.job_key <> all (coalesce(added, '{}')));
    exit when cardinality(specs) = 0;
  end loop;
  if cardinality(specs) > 0 then
    raise exception 'live voice rights: graphile-worker did not take the job for %', specs[1].job_key;
  end if;
  for subject in
    select distinct c.member_id, c.net_id from nexus_private.voice_rights_changes c
     where c.id = any (change_ids) and c.sim_pod_id is null
  loop
    if subject.member_id is not null then
      perform pg_notify('nexus:voice-rights:' || subject.member_id, '{"event":"RIGHTS"}');
    else
      perform pg_notify('nexus:presence:' || subject.net_id, json_build_object('event', 'RIGHTS', 'netId', subject.net_id)::text);
    end if;
  end loop;
  return jobs;
end
$$;

create or replace function nexus_private.voice_rights_on_changes() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  perform nexus_private.enqueue_voice_rights(array(select n.id from new_rows n));
  return null;
end
$$;
create or replace trigger voice_rights_changes_enqueue after insert on nexus_private.voice_rights_changes
  referencing new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_changes();

/*
 * Whether a change can touch anyone now: a member with a participant connected (matched as the webhook matches,
 * or by the id their identity or metadata claims, so a deleted member's sessions count), or a net whose room has
 * someone in it. Nobody connected, nothing to apply: a member who joins later does so with a token signed by
 * the rules as they are then, and a join with rights that no longer match is caught at the join (below).
 */
create or replace function nexus_private.member_connected(member uuid) returns boolean
language plpgsql stable security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
begin
  return exists (select 1 from public.voice_presence p where p.left_at is null and p.user_id = member)
      or exists (select 1 from public.voice_presence p
                  where p.left_at is null and p.user_id is null and p.participant_identity = member::text)
      or exists (select 1 from public.voice_presence p
                  where p.left_at is null and p.user_id is null and p.participant_metadata ->> 'userId' = member::text);
end
$$;

create or replace function nexus_private.net_connected(net uuid) returns boolean
language plpgsql stable security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
begin
  return exists (select 1 from public.voice_nets n join public.voice_presence p on p.room_name = n.room_name
                  where n.id = net and p.left_at is null);
end
$$;

/* Rank changes and deleted members: the member's participants. */
create or replace function nexus_private.voice_rights_on_profiles() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'UPDATE' then
    insert into nexus_private.voice_rights_changes (kind, member_id, details, actor_id, actor_role)
    select 'rank_changed', n.id, jsonb_build_object('from', o.rank, 'to', n.rank), auth.uid(), nexus_private.change_actor_role()
      from new_rows n join old_rows o on o.id = n.id
     where o.rank is distinct from n.rank and nexus_private.member_connected(n.id);
  else
    insert into nexus_private.voice_rights_changes (kind, member_id, details, actor_id, actor_role)
    select 'member_deleted', o.id, jsonb_build_object('callsign', o.callsign, 'rank', o.rank), auth.uid(), nexus_private.change_actor_role()
      from old_rows o
     where nexus_private.member_connected(o.id);
  end if;
  return null;
end
$$;
create or replace trigger profiles_voice_rights_update after update on public.profiles
  referencing old table as old_rows new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_profiles();
create or replace trigger profiles_voice_rights_delete after delete on public.profiles
  referencing old table as old_rows
  for each statement execute function nexus_private.voice_rights_on_profiles();

/* A net's gates or linked squad edited: the participants in its room. */
create or replace function nexus_private.voice_rights_on_voice_nets() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  insert into nexus_private.voice_rights_changes (kind, net_id, details, actor_id, actor_role)
  select case when o.linked_squad_id is distinct from n.linked_squad_id then 'net_squad_changed' else 'net_gates_changed' end,
         n.id,
         jsonb_build_object(
           'from', jsonb_build_object('join', o.min_rank_to_join, 'rx', o.min_rank_to_rx, 'tx', o.min_rank_to_tx, 'squad', o.linked_squad_id),
           'to', jsonb_build_object('join', n.min_rank_to_join, 'rx', n.min_rank_to_rx, 'tx', n.min_rank_to_tx, 'squad', n.linked_squad_id)),
         auth.uid(), nexus_private.change_actor_role()
    from new_rows n join old_rows o on o.id = n.id
   where (o.min_rank_to_join, o.min_rank_to_rx, o.min_rank_to_tx, o.linked_squad_id)
         is distinct from (n.min_rank_to_join, n.min_rank_to_rx, n.min_rank_to_tx, n.linked_squad_id)
     and nexus_private.net_connected(n.id);
  return null;
end
$$;
create or replace trigger voice_nets_voice_rights_update after update on public.voice_nets
  referencing old table as old_rows new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_voice_nets();

/*
 * Squad membership added or removed: the member's participants, but only when the squad gates some net (a squad
 * no net is linked to changes nobody's clearance). An update that moves a row counts as a removal from the old
 * squad (or member) and an addition to the new one. One function for the three events; transition tables need
 * one trigger per event, and each event's branch reads only the tables its trigger declares.
 */
create or replace function nexus_private.voice_rights_on_squad_members() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  kinds text[];
  squads uuid[];
  members uuid[];
begin
  if tg_op = 'INSERT' then
    select array_agg('squad_member_added'::text), array_agg(n.squad_id), array_agg(n.user_id) into kinds, squads, members from new_rows n;
  elsif tg_op = 'DELETE' then
    select array_agg('squad_member_removed'::text), array_agg(o.squad_id), array_agg(o.user_id) into kinds, squads, members from old_rows o;
  else
    select array_agg(m.kind), array_agg(m.squad_id), array_agg(m.user_id) into kinds, squads, members
      from (select 'squad_member_added'::text as kind, n.squad_id, n.user_id from new_rows n
             where not exists (select 1 from old_rows o where o.squad_id = n.squad_id and o.user_id = n.user_id)
            union all
            select 'squad_member_removed', o.squad_id, o.user_id from old_rows o
             where not exists (select 1 from new_rows n where n.squad_id = o.squad_id and n.user_id = o.user_id)) m;
  end if;
  insert into nexus_private.voice_rights_changes (kind, member_id, details, actor_id, actor_role)
  select m.kind, m.user_id, jsonb_build_object('squad_id', m.squad_id), auth.uid(), nexus_private.change_actor_role()
    from unnest(kinds, squads, members) m (kind, squad_id, user_id)
   where exists (select 1 from public.voice_nets v where v.linked_squad_id = m.squad_id)
     and nexus_private.member_connected(m.user_id);
  return null;
end
$$;
create or replace trigger squad_members_voice_rights_insert after insert on public.squad_members
  referencing new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_squad_members();
create or replace trigger squad_members_voice_rights_delete after delete on public.squad_members
  referencing old table as old_rows
  for each statement execute function nexus_private.voice_rights_on_squad_members();
create or replace trigger squad_members_voice_rights_update after update on public.squad_members
  referencing old table as old_rows new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_squad_members();
-- The three per-event functions this one replaced (migration 20261202030000): the triggers above no longer use them.
drop function if exists nexus_private.voice_rights_on_squad_members_insert();
drop function if exists nexus_private.voice_rights_on_squad_members_delete();
drop function if exists nexus_private.voice_rights_on_squad_members_update();

/* A bridge linked or unlinked: the participants in both nets' rooms (a bridged token's rights rest on it). */
create or replace function nexus_private.voice_rights_on_bridges() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    insert into nexus_private.voice_rights_changes (kind, net_id, details, actor_id, actor_role)
    select 'bridge_linked', x.net_id, jsonb_build_object('bridge_id', b.id, 'other_net_id', x.other_id), auth.uid(), nexus_private.change_actor_role()
      from new_rows b
      cross join lateral (values (b.source_net_id, b.target_net_id), (b.target_net_id, b.source_net_id)) x (net_id, other_id)
     where nexus_private.net_connected(x.net_id);
  else
    insert into nexus_private.voice_rights_changes (kind, net_id, details, actor_id, actor_role)
    select 'bridge_unlinked', x.net_id, jsonb_build_object('bridge_id', b.id, 'other_net_id', x.other_id), auth.uid(), nexus_private.change_actor_role()
      from old_rows b
      cross join lateral (values (b.source_net_id, b.target_net_id), (b.target_net_id, b.source_net_id)) x (net_id, other_id)
     where nexus_private.net_connected(x.net_id);
  end if;
  return null;
end
$$;
create or replace trigger voice_net_bridges_voice_rights_insert after insert on public.voice_net_bridges
  referencing new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_bridges();
create or replace trigger voice_net_bridges_voice_rights_delete after delete on public.voice_net_bridges
  referencing old table as old_rows
  for each statement execute function nexus_private.voice_rights_on_bridges();

/*
 * A sim pod's expiry (made, or moved earlier when its training is completed or cancelled): a job at that moment
 * removes whoever is still in its room. The job is keyed by pod, so moving the expiry moves the job.
 */
create or replace function nexus_private.voice_rights_on_sim_pods() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'UPDATE' and old.expires_at = new.expires_at then
    return null;
  end if;
  insert into nexus_private.voice_rights_changes (kind, sim_pod_id, details, actor_id, actor_role)
  values ('sim_pod_expiry', new.id, jsonb_build_object('runAt', new.expires_at), auth.uid(), nexus_private.change_actor_role());
  return null;
end
$$;
create or replace trigger sim_pods_voice_rights after insert or update of expires_at on public.sim_pods
  for each row execute function nexus_private.voice_rights_on_sim_pods();

/*
 * A net deleted, or its room_name changed: its old room is retired (nexus_private.retired_net_rooms), and whoever
 * is still connected there is due a removal (their token named that room; after a rename they come back with a
 * token for the new name). The change is the net's, so its job's scope takes the net's retired rooms too. A room
 * a net holds after the statement (a net created or renamed to it) is that net's again: not retired, decided
 * normally. The room is retired even with nobody in it: a join on a token signed before the change is removed
 * at the join (voice_rights_on_join). Transition tables need one trigger per event.
 */
create or replace function nexus_private.voice_rights_on_voice_net_rooms() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  nets uuid[];
  rooms text[];
  renamed_to text[];
begin
  if tg_op = 'DELETE' then
    select array_agg(o.id), array_agg(o.room_name), array_agg(null::text) into nets, rooms, renamed_to from old_rows o;
  elsif tg_op = 'UPDATE' then
    select array_agg(o.id), array_agg(o.room_name), array_agg(n.room_name) into nets, rooms, renamed_to
      from old_rows o join new_rows n on n.id = o.id
     where n.room_name is distinct from o.room_name;
  end if;
  if cardinality(nets) > 0 then
    -- A join of the old room applied meanwhile: one already under way holds the net's row (its presence row's
    -- foreign key), so this statement waited for it and sees it below; one that starts now waits here on its
    -- room's lock (apply_livekit_event's), then finds the room retired and is removed at the join, instead of
    -- failing on that foreign key. Rooms in name order, as the webhook batches take them.
    perform pg_advisory_xact_lock(hashtext('nexus:presence:' || g.room)) from unnest(rooms) g (room) order by g.room;
    insert into nexus_private.retired_net_rooms as r (room_name, net_id)
    select g.room, g.net from unnest(nets, rooms) g (net, room)
     where not exists (select 1 from public.voice_nets v where v.room_name = g.room)
    on conflict (room_name) do update set net_id = excluded.net_id, retired_at = excluded.retired_at;
    insert into nexus_private.voice_rights_changes (kind, net_id, details, actor_id, actor_role)
    select case when tg_op = 'DELETE' then 'net_deleted' else 'net_room_renamed' end, g.net,
           jsonb_strip_nulls(jsonb_build_object('room_name', g.room, 'new_room_name', g.renamed_to)),
           auth.uid(), nexus_private.change_actor_role()
      from unnest(nets, rooms, renamed_to) g (net, room, renamed_to)
     where exists (select 1 from nexus_private.retired_net_rooms r where r.room_name = g.room and r.net_id = g.net)
       and exists (select 1 from public.voice_presence p where p.room_name = g.room and p.left_at is null);
  end if;
  if tg_op <> 'DELETE' then
    delete from nexus_private.retired_net_rooms r using new_rows n where r.room_name = n.room_name;
  end if;
  return null;
end
$$;
create or replace trigger voice_nets_voice_rooms_insert after insert on public.voice_nets
  referencing new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_voice_net_rooms();
create or replace trigger voice_nets_voice_rooms_update after update on public.voice_nets
  referencing old table as old_rows new table as new_rows
  for each statement execute function nexus_private.voice_rights_on_voice_net_rooms();
create or replace trigger voice_nets_voice_rooms_delete after delete on public.voice_nets
  referencing old table as old_rows
  for each statement execute function nexus_private.voice_rights_on_voice_net_rooms();

/*
 * The decision for one open presence row, with what LiveKit holds and what to do: 'remove' (may no longer be in
 * that room), 'update' (rights differ from, or are not known to be, the decision), or null (nothing). The row is
 * decided for the room it is in: a net's room by presence_clearance() (directly, or through the bridge its
 * token's metadata names), a sim pod's room by sim_pod_presence_clearance(), a room a net gave up (deleted or
 * renamed, retired_net_rooms) by nothing: 'remove', net_id the net that had it. Rooms that are none of these
 * were never ours (another app on the same LiveKit project): no row. The member is the presence row's, matched
 * as the webhook matches it (identity = member id, else metadata.userId); a participant whose member no longer
 * exists may do nothing.
 *
 * PL/pgSQL with generic plans: each statement is planned once per connection and then costs a few index lookups.
 * The worker calls it once per participant per change, a thousand times for a gate raised on a full net.
 */
create or replace function nexus_private.presence_decision(presence uuid)
returns table (
  presence_id uuid,
  room_name text,
  participant_identity text,
  user_id uuid,
  net_id uuid,
  sim_pod_id text,
  can_join boolean,
  can_subscribe boolean,
  can_publish boolean,
  can_publish_data boolean,
  had_subscribe boolean,
  had_publish boolean,
  had_publish_data boolean,
  action text
)
language plpgsql stable security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
declare
  session public.voice_presence;
  bridged_from uuid;
  held nexus_private.presence_rights;
begin
  select * into session from public.voice_presence p where p.id = presence and p.left_at is null;
  if session.id is null then
    return;
  end if;
  presence_id := session.id;
  room_name := session.room_name;
  participant_identity := session.participant_identity;
  user_id := coalesce(session.user_id, nexus_private.participant_member(session.participant_identity, session.participant_metadata));
  select n.id into net_id from public.voice_nets n where n.room_name = session.room_name;
  if net_id is not null then
    bridged_from := nexus_private.as_uuid(session.participant_metadata ->> 'bridgedFrom');
    select c.can_join, c.can_rx, c.can_tx into can_join, can_subscribe, can_publish
      from nexus_private.presence_clearance(user_id, net_id, bridged_from) c;
  else
    select s.id into sim_pod_id from public.sim_pods s where s.room_name = session.room_name;
    if sim_pod_id is not null then
      select c.can_join, c.can_rx, c.can_tx into can_join, can_subscribe, can_publish
        from nexus_private.sim_pod_presence_clearance(sim_pod_id, user_id) c;
    else
      select r.net_id into net_id from nexus_private.retired_net_rooms r where r.room_name = session.room_name;
      if net_id is null then
        return;
      end if;
      can_join := false;
    end if;
  end if;
  can_join := coalesce(can_join, false);
  can_subscribe := can_join and coalesce(can_subscribe, false);
  can_publish := can_join and coalesce(can_publish, false);
  can_publish_data := can_publish;
  select * into held from nexus_private.presence_rights r where r.presence_id = presence;
  had_subscribe := held.can_subscribe;
  had_publish := held.can_publish;
  had_publish_data := held.can_publish_data;
  action := case
    when held.removed_at is not null then null
    when not can_join then 'remove'
    when (held.can_subscribe, held.can_publish, held.can_publish_data) is distinct from (can_subscribe, can_publish, can_publish_data) then 'update'
  end;
  return next;
end
$$;
comment on function nexus_private.presence_decision(uuid) is 'Live rights for one open presence row: the decision now, what LiveKit holds, and the action (remove, update or null).';

/*
 * A job's scope: the open presence rows of its members (also by identity or metadata.userId, so a deleted
 * member's participants are found), and those in its nets' rooms (the current one and any it gave up) and sim
 * pods' rooms. voice_rights_decisions() is presence_decision() for each (and for any presence ids given), for
 * tests and operators' questions.
 */
create or replace function nexus_private.voice_rights_scope(members uuid[], nets uuid[], sim_pods text[]) returns uuid[]
language plpgsql stable security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
declare
  ids uuid[] := '{}';
begin
  if cardinality(members) > 0 then
    ids := ids || array(select p.id from public.voice_presence p where p.left_at is null and p.user_id = any (members));
    ids := ids || array(
      select p.id from public.voice_presence p
       where p.left_at is null and p.user_id is null and p.participant_identity = any (members::text[]));
    ids := ids || array(
      select p.id from public.voice_presence p
       where p.left_at is null and p.user_id is null and p.participant_metadata ->> 'userId' = any (members::text[]));
  end if;
  if cardinality(nets) > 0 then
    ids := ids || array(
      select p.id from public.voice_nets n join public.voice_presence p on p.room_name = n.room_name and p.left_at is null
       where n.id = any (nets));
    ids := ids || array(
      select p.id from nexus_private.retired_net_rooms r join public.voice_presence p on p.room_name = r.room_name and p.left_at is null
       where r.net_id = any (nets));
  end if;
  if cardinality(sim_pods) > 0 then
    ids := ids || array(
      select p.id from public.sim_pods s join public.voice_presence p on p.room_name = s.room_name and p.left_at is null
       where s.id = any (sim_pods));
  end if;
  return array(select distinct x.id from unnest(ids) x (id) order by x.id);
end
$$;

create or replace function nexus_private.voice_rights_decisions(presence_ids uuid[], members uuid[], nets uuid[], sim_pods text[])
returns table (
  presence_id uuid,
  room_name text,
  participant_identity text,
  user_id uuid,
  net_id uuid,
  sim_pod_id text,
  can_join boolean,
  can_subscribe boolean,
  can_publish boolean,
  can_publish_data boolean,
  had_subscribe boolean,
  had_publish boolean,
  had_publish_data boolean,
  action text
)
language sql stable security definer set search_path = pg_catalog, public as $$
  select d.*
    from (select distinct x.id from unnest(coalesce(presence_ids, '{}') || nexus_private.voice_rights_scope(members, nets, sim_pods)) x (id)) scope
   cross join lateral nexus_private.presence_decision(scope.id) d
$$;
comment on function nexus_private.voice_rights_decisions(uuid[], uuid[], uuid[], text[]) is 'Live rights: presence_decision() for every open presence row of the given presence ids, members, nets and sim pods.';

/* The participants in scope whose LiveKit rights must change, in a stable order. */
create or replace function nexus_private.voice_rights_due(members uuid[], nets uuid[], sim_pods text[])
returns table (presence_id uuid, room_name text, participant_identity text, action text)
language sql stable security definer set search_path = pg_catalog, public as $$
  select d.presence_id, d.room_name, d.participant_identity, d.action
    from nexus_private.voice_rights_decisions(null, members, nets, sim_pods) d
   where d.action is not null
   order by d.room_name, d.participant_identity
$$;
grant execute on function nexus_private.voice_rights_due(uuid[], uuid[], text[]) to service_role;

/*
 * A job's participants, in the transaction that will record LiveKit's answers: lock what LiveKit holds for each
 * one due an update or a removal (in presence id order, so two jobs never deadlock; a second job touching the
 * same participants waits until this one commits), decide again under the lock, and return what to send. A
 * participant a concurrent job already put right, or who left, is not returned.
 */
create or replace function nexus_private.voice_rights_claim(members uuid[], nets uuid[], sim_pods text[])
returns table (
  presence_id uuid,
  room_name text,
  participant_identity text,
  action text,
  can_subscribe boolean,
  can_publish boolean,
  can_publish_data boolean
)
language plpgsql volatile security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
declare
  ids uuid[] := nexus_private.voice_rights_scope(members, nets, sim_pods);
begin
  if cardinality(ids) = 0 then
    return;
  end if;
  insert into nexus_private.presence_rights as r (presence_id)
  select x.id from unnest(ids) x (id)
  on conflict on constraint presence_rights_pkey do nothing;
  perform 1 from nexus_private.presence_rights r where r.presence_id = any (ids) order by r.presence_id for update;
  return query
    select d.presence_id, d.room_name, d.participant_identity, d.action, d.can_subscribe, d.can_publish, d.can_publish_data
      from unnest(ids) x (id)
     cross join lateral nexus_private.presence_decision(x.id) d
     where d.action is not null
     order by d.room_name, d.participant_identity;
end
$$;
grant execute on function nexus_private.voice_rights_claim(uuid[], uuid[], text[]) to service_role;

/*
 * What LiveKit answered for each claimed participant, as a JSON array of
 *   { presence, action: update|remove, outcome, canSubscribe, canPublish, canPublishData, error? }
 * outcome 'updated' (they now hold these rights), 'removed', 'not_present' (LiveKit no longer has them: nothing
 * more to do for this session) or 'failed' (unchanged, to be retried). Stores what LiveKit now holds and writes
 * one audit row each, naming the changes the job answered for. One statement for the whole job.
 */
create or replace function nexus_private.voice_rights_record(answers jsonb, change_ids bigint[]) returns integer
language plpgsql volatile security definer
set search_path = pg_catalog, public
set plan_cache_mode = force_generic_plan
as $$
declare
  presences uuid[];
  first_change timestamptz;
  logged integer;
begin
  -- Every table below is reached through the ids at hand (`= any (…)`, by primary key). Joined to the answers
  -- alone, the planner guessed a hundred of them (what it assumes of any jsonb_to_recordset) and hash-joined them
  -- to whole scans of voice_presence, presence_rights and voice_rights_changes: every job read every connected
  -- participant and the whole retained history (≈ 2 ms a job with 2,300 connected, growing with them).
  select array_agg(a.presence) into presences from jsonb_to_recordset(answers) as a (presence uuid);
  -- `offset 0` keeps min() from being answered by walking the changed_at index from the oldest change until one
  -- of the job's turns up: they are the newest.
  select min(c.changed_at) into first_change
    from (select c.changed_at from nexus_private.voice_rights_changes c where c.id = any (change_ids) offset 0) c;
  with answer as (
    select * from jsonb_to_recordset(answers) as a (
      presence uuid, action text, outcome text, "canSubscribe" boolean, "canPublish" boolean, "canPublishData" boolean, error text)
  ), held as (
    update nexus_private.presence_rights r
       set can_subscribe = case when a.outcome = 'updated' then a."canSubscribe" else r.can_subscribe end,
           can_publish = case when a.outcome = 'updated' then a."canPublish" else r.can_publish end,
           can_publish_data = case when a.outcome = 'updated' then a."canPublishData" else r.can_publish_data end,
           removed_at = case when a.outcome in ('removed', 'not_present') then clock_timestamp() else r.removed_at end,
           updated_at = clock_timestamp()
      from answer a
     where r.presence_id = any (presences) and r.presence_id = a.presence and a.outcome <> 'failed'
  ), audit as (
    insert into nexus_private.voice_rights_log
      (presence_id, room_name, participant_identity, user_id, net_id, sim_pod_id, action, outcome,
       had_subscribe, had_publish, can_subscribe, can_publish, change_ids, changed_at, answered_at, error)
    select a.presence, p.room_name, p.participant_identity,
           coalesce(p.user_id, nexus_private.participant_member(p.participant_identity, p.participant_metadata)),
           coalesce(n.id, g.net_id), s.id, a.action, a.outcome, r.can_subscribe, r.can_publish,
           coalesce(a."canSubscribe", false), coalesce(a."canPublish", false),
           coalesce(change_ids, '{}'), first_change, clock_timestamp(), left(a.error, 500)
      from answer a
      join public.voice_presence p on p.id = a.presence and p.id = any (presences)
      left join nexus_private.presence_rights r on r.presence_id = a.presence and r.presence_id = any (presences)
      left join public.voice_nets n on n.room_name = p.room_name
      left join public.sim_pods s on s.room_name = p.room_name
      left join nexus_private.retired_net_rooms g on g.room_name = p.room_name
    returning 1
  )
  select count(*) into logged from audit;
  return logged;
end
$$;
grant execute on function nexus_private.voice_rights_record(jsonb, bigint[]) to service_role;

/*
 * The rights LiveKit reported when a participant joined (the webhook's participant.permission), as the starting
 * point of what LiveKit holds. Called by apply_livekit_event() for a session it opened, which then calls
 * voice_rights_on_join().
 */
create or replace function nexus_private.record_join_rights(presence uuid, permission jsonb) returns void
language sql volatile security definer set search_path = pg_catalog, public as $$
  insert into nexus_private.presence_rights (presence_id, can_subscribe, can_publish, can_publish_data)
  select presence, coalesce((permission ->> 'canSubscribe')::boolean, false), coalesce((permission ->> 'canPublish')::boolean, false),
         coalesce((permission ->> 'canPublishData')::boolean, false)
   where jsonb_typeof(permission) = 'object'
  on conflict on constraint presence_rights_pkey do nothing
$$;

/*
 * A participant who joins with rights that no longer match the rules (a token signed before a demotion, a gate
 * raised or a bridge unlinked; tokens live LIVEKIT_TOKEN_TTL) is put right at once, like any other change. Only
 * when the join reported its rights: unknown rights are not a reason to call LiveKit on every join.
 */
create or replace function nexus_private.voice_rights_on_join(presence uuid) returns void
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  decided record;
begin
  select d.user_id, d.net_id, d.sim_pod_id, d.action, d.had_subscribe, d.had_publish, d.can_subscribe, d.can_publish into decided
    from nexus_private.presence_decision(presence) d
   where d.action is not null and d.had_subscribe is not null;
  if not found then
    return;
  end if;
  insert into nexus_private.voice_rights_changes (kind, member_id, net_id, sim_pod_id, details, actor_id, actor_role)
  values ('joined_out_of_date', decided.user_id,
          case when decided.user_id is null then decided.net_id end,
          case when decided.user_id is null and decided.net_id is null then decided.sim_pod_id end,
          jsonb_build_object('presence_id', presence, 'action', decided.action,
            'joined_with', jsonb_build_object('rx', decided.had_subscribe, 'tx', decided.had_publish),
            'rules_give', jsonb_build_object('rx', decided.can_subscribe, 'tx', decided.can_publish)),
          null, 'livekit');
end
$$;

/*
 * Live rights figures for /metrics, over the last hour: LiveKit answers by outcome, and the lag from each
 * change to LiveKit's answer (updates and removals), as quantiles.
 */
create or replace function nexus_private.voice_rights_stats()
returns table (outcomes jsonb, lag_p50 double precision, lag_p99 double precision)
language sql stable security definer set search_path = pg_catalog, public as $$
  select (select coalesce(jsonb_object_agg(o.outcome, o.n), '{}') from (
            select l.outcome, count(*) as n from nexus_private.voice_rights_log l
             where l.answered_at > now() - interval '1 hour' group by l.outcome) o),
         percentile_cont(0.5) within group (order by extract(epoch from l.answered_at - l.changed_at)),
         percentile_cont(0.99) within group (order by extract(epoch from l.answered_at - l.changed_at))
    from nexus_private.voice_rights_log l
   where l.answered_at > now() - interval '1 hour' and l.outcome in ('updated', 'removed')
$$;
grant execute on function nexus_private.voice_rights_stats() to service_role;

/*
 * Changes and audit rows are kept 30 days (the voice_rights__prune crontab task runs this daily), and so are
 * retired rooms, longer while someone is still connected there (far beyond any token's life).
 */
create or replace function nexus_private.voice_rights_prune(keep interval default interval '30 days') returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  logs integer;
  changes integer;
  rooms integer;
begin
  delete from nexus_private.voice_rights_log l where l.answered_at < now() - keep;
  get diagnostics logs = row_count;
  delete from nexus_private.voice_rights_changes c where c.changed_at < now() - keep;
  get diagnostics changes = row_count;
  delete from nexus_private.retired_net_rooms r
   where r.retired_at < now() - keep
     and not exists (select 1 from public.voice_presence p where p.room_name = r.room_name and p.left_at is null);
  get diagnostics rooms = row_count;
  return logs + changes + rooms;
end
$$;
grant execute on function nexus_private.voice_rights_prune(interval) to service_role;

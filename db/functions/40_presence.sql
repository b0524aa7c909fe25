/*
 * Presence: applying LiveKit webhook events to voice_presence, idempotently and in any order, and the sweeps
 * that close rows whose events were lost. Called by the worker (service_role), never by members.
 */

/* LiveKit metadata is a free-form string; ours is JSON ({userId, rank, callsign}). Anything else is kept as raw. */
create or replace function nexus_private.parse_participant_metadata(metadata text) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  parsed jsonb;
begin
  if metadata is null or btrim(metadata) = '' then
    return '{}';
  end if;
  parsed := metadata::jsonb;
  return case when jsonb_typeof(parsed) = 'object' then parsed else jsonb_build_object('raw', metadata) end;
exception when others then
  return jsonb_build_object('raw', metadata);
end
$$;

/*
 * The member behind a participant: its identity when that is a member's id (our tokens), else metadata.userId
 * (the old frontend used the display name as identity). Null when neither names a member.
 */
create or replace function nexus_private.participant_member(identity text, metadata jsonb) returns uuid
language sql stable security definer set search_path = pg_catalog, public as $$
  select p.id
    from public.profiles p
   where p.id = any (array[
           nexus_private.as_uuid(identity),
           nexus_private.as_uuid(metadata ->> 'userId')
         ])
   order by p.id = nexus_private.as_uuid(identity) desc nulls last
   limit 1
$$;

/*
 * Apply one normalised LiveKit event (core/presence/events.ts builds it):
 *   { id, event, room, participant: { identity, sid, name, metadata, permission? }, createdAt (epoch seconds) }
 * Returns what it did: opened, closed, unchanged, room_closed:<n>, ignored.
 *
 * Rules that make redelivery and reordering harmless:
 *  - a join never reopens a closed session; it only moves joined_at earlier (least) and fills what was missing;
 *  - a leave closes the session, creating it closed if the join has not arrived yet (a left before its joined ends closed);
 *  - room_finished closes every session of the room that joined before it, and is remembered, so a join older
 *    than the finish that arrives later is stored closed.
 */
create or replace function nexus_private.apply_livekit_event(event jsonb) returns text
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  kind text := event ->> 'event';
  room text := nullif(event ->> 'room', '');
  at timestamptz;
  participant jsonb := event -> 'participant';
  sid text := nullif(participant ->> 'sid', '');
  identity text := nullif(participant ->> 'identity', '');
  metadata jsonb;
  member uuid;
  finished timestamptz;
  affected int;
  outcome text;
  session_id uuid;
begin
  if kind not in ('participant_joined', 'participant_left', 'participant_connection_aborted', 'room_finished') then
    return 'ignored';
  end if;
  if room is null then
    perform nexus_private.fail('BAD_REQUEST', format('%s event without a room name', kind));
  end if;
  -- One room's events are applied one transaction at a time: a room_finished and a join of that room in two
  -- concurrent transactions would each miss the other (the finish closes only rows it can see, the join reads
  -- room_finishes before the finish commits) and leave a session open after its room finished.
  perform pg_advisory_xact_lock(hashtext('nexus:presence:' || room));
  begin
    at := to_timestamp((event ->> 'createdAt')::double precision);
  exception when others then
    at := null;
  end;
  if at is null then
    perform nexus_private.fail('BAD_REQUEST', format('%s event without a usable createdAt', kind));
  end if;
  -- The webhook refuses events dated over 5 minutes past their receipt; this holds for any other way in. One
  -- dated in the future would close every later real session of its room (room_finished) or never end (joined).
  if at > now() + interval '5 minutes' then
    perform nexus_private.fail('BAD_REQUEST', format('%s event dated in the future (%s)', kind, at));
  end if;

  if kind = 'room_finished' then
    insert into nexus_private.room_finishes as f (room_name, finished_at) values (room, at)
    on conflict (room_name) do update set finished_at = greatest(f.finished_at, excluded.finished_at);
    update public.voice_presence
       set left_at = at, left_reason = 'room_finished', last_event_at = greatest(last_event_at, at)
     where room_name = room and left_at is null and joined_at <= at;
    get diagnostics affected = row_count;
    return 'room_closed:' || affected;
  end if;

  if sid is null or identity is null then
    perform nexus_private.fail('BAD_REQUEST', format('%s event without participant identity and sid', kind));
  end if;
  metadata := nexus_private.parse_participant_metadata(participant ->> 'metadata');
  member := nexus_private.participant_member(identity, metadata);
  select f.finished_at into finished from nexus_private.room_finishes f where f.room_name = room;

  if kind = 'participant_joined' then
    insert into public.voice_presence as p
      (room_name, net_id, participant_identity, participant_sid, participant_name, user_id, participant_metadata,
       joined_at, left_at, left_reason, last_event_at)
    values
      (room, (select n.id from public.voice_nets n where n.room_name = room), identity, sid,
       nullif(participant ->> 'name', ''), member, metadata, at,
       case when finished >= at then finished end, case when finished >= at then 'room_finished' end, at)
    on conflict (room_name, participant_sid) do update set
      joined_at = least(p.joined_at, excluded.joined_at),
      participant_metadata = case when p.participant_metadata = '{}' then excluded.participant_metadata else p.participant_metadata end,
      participant_name = coalesce(p.participant_name, excluded.participant_name),
      user_id = coalesce(p.user_id, excluded.user_id),
      last_event_at = greatest(p.last_event_at, excluded.last_event_at)
    returning p.id, case when xmax = 0 then (case when left_at is null then 'opened' else 'closed' end) else 'unchanged' end
      into session_id, outcome;
    -- What LiveKit granted (the token's rights) is where live rights start from (63_voice_rights_live.sql).
    if outcome = 'opened' and participant ? 'permission' then
      perform nexus_private.record_join_rights(session_id, participant -> 'permission');
      perform nexus_private.voice_rights_on_join(session_id);
    end if;
    return outcome;
  end if;

  -- participant_left / participant_connection_aborted
  insert into public.voice_presence as p
    (room_name, net_id, participant_identity, participant_sid, participant_name, user_id, participant_metadata,
     joined_at, left_at, left_reason, last_event_at)
  values
    (room, (select n.id from public.voice_nets n where n.room_name = room), identity, sid,
     nullif(participant ->> 'name', ''), member, metadata, at, at, kind, at)
  on conflict (room_name, participant_sid) do update set
    left_at = case
      when p.left_at is null then greatest(excluded.left_at, p.joined_at)
      else least(p.left_at, greatest(excluded.left_at, p.joined_at)) end,
    left_reason = case when p.left_at is null or excluded.left_at < p.left_at then excluded.left_reason else p.left_reason end,
    participant_metadata = case when p.participant_metadata = '{}' then excluded.participant_metadata else p.participant_metadata end,
    user_id = coalesce(p.user_id, excluded.user_id),
    last_event_at = greatest(p.last_event_at, excluded.last_event_at)
  returning 'closed' into outcome;
  return outcome;
end
$$;
grant execute on function nexus_private.apply_livekit_event(jsonb) to service_role;

/*
 * A batch of normalised events (a JSON array, in the order the webhook shim received them), each applied by
 * apply_livekit_event() above, in one transaction: the worker's job per micro-batch of webhooks. Order within
 * the batch does not matter (the rules above make any order end in the same state). Returns how many were
 * applied (ignored kinds included). One event that cannot be applied (NX400) fails the whole batch; the worker
 * then applies the batch's events one by one and drops only that one (worker/tasks/presence__apply_events.ts).
 */
create or replace function nexus_private.apply_livekit_events(events jsonb) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  event jsonb;
  applied integer := 0;
begin
  if jsonb_typeof(events) is distinct from 'array' then
    perform nexus_private.fail('BAD_REQUEST', 'apply_livekit_events wants a JSON array of events');
  end if;
  -- By room (each event takes its room's lock until the batch commits: always in the same order, so two batches
  -- never wait for each other in a circle), then as received.
  for event in select e from jsonb_array_elements(events) with ordinality as x(e, n) order by e ->> 'room', n loop
    perform nexus_private.apply_livekit_event(event);
    applied := applied + 1;
  end loop;
  return applied;
end
$$;
revoke execute on function nexus_private.apply_livekit_events(jsonb) from public;
grant execute on function nexus_private.apply_livekit_events(jsonb) to service_role;

/* Close sessions open longer than max_open with no event since: their leave was lost. */
create or replace function nexus_private.close_stale_presence(max_open interval)
returns table (id uuid, room_name text, participant_identity text, joined_at timestamptz)
language sql volatile security definer set search_path = pg_catalog, public as $$
  update public.voice_presence p
     set left_at = greatest(now(), p.joined_at), left_reason = 'stale'
   where p.left_at is null and p.last_event_at < now() - max_open
  returning p.id, p.room_name, p.participant_identity, p.joined_at
$$;
grant execute on function nexus_private.close_stale_presence(interval) to service_role;

/*
 * Reconcile one room against LiveKit's participant list taken at listed_at: close the open sessions LiveKit no
 * longer has. Sessions whose join is newer than the list are left alone (the list may predate them).
 */
create or replace function nexus_private.reconcile_room(room text, present_sids text[], listed_at timestamptz)
returns table (id uuid, participant_identity text)
language sql volatile security definer set search_path = pg_catalog, public as $$
  update public.voice_presence p
     set left_at = greatest(listed_at, p.joined_at), left_reason = 'reconciled'
   where p.room_name = room and p.left_at is null and p.joined_at < listed_at
     and not (p.participant_sid = any (coalesce(present_sids, '{}')))
  returning p.id, p.participant_identity
$$;
grant execute on function nexus_private.reconcile_room(text, text[], timestamptz) to service_role;

/* Rooms with open sessions, for the reconcile sweep. */
create or replace function nexus_private.rooms_with_open_presence() returns setof text
language sql stable security definer set search_path = pg_catalog, public as $$
  select distinct p.room_name from public.voice_presence p where p.left_at is null order by 1
$$;
grant execute on function nexus_private.rooms_with_open_presence() to service_role;

/*
 * Who is on a net now: each open session on nets the caller may join (voice_presence's RLS decides), with the
 * member's callsign and rank. netId null = every such net.
 */
create or replace function public.net_roster(net_id uuid default null)
returns table (presence_id uuid, net_id uuid, room_name text, user_id uuid, callsign text, rank public.rank,
               participant_identity text, joined_at timestamptz)
language sql stable as $$
  select p.id, p.net_id, p.room_name, p.user_id, pr.callsign, pr.rank, p.participant_identity, p.joined_at
    from public.voice_presence p
    left join public.profiles pr on pr.id = p.user_id
   where p.left_at is null and p.net_id is not null
     and (net_roster.net_id is null or p.net_id = net_roster.net_id)
   order by p.net_id, p.joined_at
$$;
comment on function public.net_roster(uuid) is 'Who is on a net now (or on every net you may join): callsign, rank and since when.';
grant execute on function public.net_roster(uuid) to authenticated, service_role;

/* Operators' monitoring views: the runbook's Phase 7.2 queries, kept by name. */
create or replace view nexus_private.recent_presence as
  select room_name, participant_identity, joined_at, left_at, participant_metadata ->> 'rank' as rank
    from public.voice_presence
   where joined_at > now() - interval '1 hour'
   order by joined_at desc
   limit 20;

create or replace view nexus_private.stale_presence as
  select count(*) as stale_count
    from public.voice_presence
   where left_at is null and joined_at < now() - interval '10 minutes';
grant select on nexus_private.recent_presence, nexus_private.stale_presence to service_role;

/* Joins and leaves are announced for the GraphQL subscription (server/presence/graphql.ts). */
create or replace function nexus_private.notify_presence_change() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' or (old.left_at is null) <> (new.left_at is null) then
    perform pg_notify('nexus:presence:' || coalesce(new.net_id::text, 'none'), json_build_object(
      'id', new.id, 'netId', new.net_id, 'event', case when new.left_at is null then 'JOINED' else 'LEFT' end)::text);
  end if;
  return null;
end
$$;
drop trigger if exists voice_presence_notify on public.voice_presence;
create trigger voice_presence_notify after insert or update on public.voice_presence
  for each row execute function nexus_private.notify_presence_change();

/*
 * A net's room must be ours. A LiveKit room that members or others are in, and that is no net's, no sim pod's and
 * no retired net's, belongs to someone else on the same LiveKit project (another app, a SIP bridge): a FOUNDER who
 * names a net after it would hand tokens for it to the net's ranks, and live rights would then remove its own
 * participants. So a net may take a room name only while nobody is in that room, or when the room was a net's
 * before (retired_net_rooms). Sim pods' rooms are refused by voice_nets_room_name_not_sim_pod. Operators
 * (service_role) may adopt an occupied room on purpose, e.g. while importing from Supabase.
 */
create or replace function nexus_private.voice_net_room_is_ours() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'UPDATE' and new.room_name = old.room_name then
    return new;
  end if;
  -- Who may: operators (a service_role request or session) and the schema's own logins, which never SET ROLE
  -- (migrations, seeds). Every API role is checked.
  if auth.is_service() or coalesce(current_setting('role', true), 'none') in ('service_role', 'none') then
    return new;
  end if;
  if exists (select 1 from public.voice_presence p where p.room_name = new.room_name and p.left_at is null)
     and not exists (select 1 from nexus_private.retired_net_rooms r where r.room_name = new.room_name) then
    perform nexus_private.fail('CONFLICT',
      format('the LiveKit room %s has participants this backend did not admit to a net; choose another room name', new.room_name));
  end if;
  return new;
end
$$;
create or replace trigger voice_nets_room_is_ours before insert or update of room_name on public.voice_nets
  for each row execute function nexus_private.voice_net_room_is_ours();

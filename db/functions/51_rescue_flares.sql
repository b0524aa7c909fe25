/*
 * Rescue flares (DESIGN.md §3): SCOUT and above fire; one active flare per requester; at most FLARE_MAX_PER_HOUR
 * per requester per hour; a responder acknowledges (the requester is paged); the requester resolves or cancels,
 * or releases the responder (the flare is OPEN again and that member may not answer it again).
 * Firing queues the fan-out job in the same transaction as the flare, so a committed flare is always paged.
 */

/*
 * The hourly limit, FLARE_MAX_PER_HOUR. The API server passes its configured value on every request as the
 * setting nexus.flare_max_per_hour (server/auth.ts); an operator may also set it for a database or role
 * (`alter database … set nexus.flare_max_per_hour = 10`). Unset or unreadable: 6.
 */
create or replace function nexus_private.flare_max_per_hour() returns integer
language plpgsql stable parallel safe set search_path = pg_catalog as $$
declare
  configured text := btrim(coalesce(current_setting('nexus.flare_max_per_hour', true), ''));
begin
  if configured ~ '^[0-9]{1,6}$' and configured::integer > 0 then
    return configured::integer;
  end if;
  return 6;
end
$$;
grant execute on function nexus_private.flare_max_per_hour() to authenticated, service_role;

/*
 * Flare types arriving at the edges (REST bodies) are matched case-insensitively. Security definer only so
 * that members, who cannot reach nexus_private, get BAD_REQUEST from nexus_private.fail() for a bad name.
 */
create or replace function public.parse_flare_type(name text) returns public.flare_type
language plpgsql immutable parallel safe security definer set search_path = pg_catalog, public as $$
begin
  if name is null or upper(btrim(name)) <> all (enum_range(null::public.flare_type)::text[]) then
    perform nexus_private.fail('BAD_REQUEST', format('unknown flare type %L: expected one of %s', name,
      array_to_string(enum_range(null::public.flare_type)::text[], ', ')));
  end if;
  return upper(btrim(name))::public.flare_type;
end
$$;
grant execute on function public.parse_flare_type(text) to anon, authenticated, service_role;

/*
 * What a device shows for a flare event (DESIGN.md §4): the type, the flare's id, where, what kind, who asked
 * (and who answered), plus a ready-made title and body for the service worker's showNotification().
 */
create or replace function nexus_private.flare_payload(flare public.rescue_flares, type text) returns jsonb
language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
  requester text := (select p.callsign from public.profiles p where p.id = flare.requester_id);
  responder text := (select p.callsign from public.profiles p where p.id = flare.responder_id);
  kind text := lower(flare.flare_type::text);
begin
  return jsonb_build_object(
    'type', type,
    'flareId', flare.id,
    'location', flare.location,
    'flareType', flare.flare_type,
    'status', flare.status,
    'requesterId', flare.requester_id,
    'requesterCallsign', requester,
    'createdAt', flare.created_at,
    'tag', 'flare-' || flare.id,
    'title', case type
      when 'RESCUE_FLARE' then format('Rescue flare: %s', flare.flare_type)
      when 'FLARE_ACKNOWLEDGED' then 'Help is on the way'
      when 'FLARE_RESOLVED' then 'Flare resolved'
      when 'FLARE_CANCELLED' then 'Flare called off'
      when 'FLARE_RELEASED' then 'Released from a flare'
      else type end,
    'body', case type
      when 'RESCUE_FLARE' then format('%s needs %s help at %s', requester, kind, flare.location)
      when 'FLARE_ACKNOWLEDGED' then format('%s answered your %s flare at %s', responder, kind, flare.location)
      when 'FLARE_RESOLVED' then format('%s resolved their %s flare at %s', requester, kind, flare.location)
      when 'FLARE_CANCELLED' then format('%s called off their %s flare at %s', requester, kind, flare.location)
      when 'FLARE_RELEASED' then format('%s released you from their %s flare at %s: you need not go', requester, kind, flare.location)
      else flare.location end
  ) || case when flare.responder_id is null then '{}'::jsonb
            else jsonb_build_object('responderId', flare.responder_id, 'responderCallsign', responder,
                                    'acknowledgedAt', flare.acknowledged_at) end;
end
$$;

create or replace function public.fire_rescue_flare(location text, flare_type public.flare_type)
returns public.rescue_flares
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('fire a rescue flare');
  clean_location text := btrim(fire_rescue_flare.location);
  active public.rescue_flares;
  max_per_hour integer := nexus_private.flare_max_per_hour();
  recent integer;
  oldest_recent timestamptz;
  flare public.rescue_flares;
begin
  perform nexus_private.require_rank('SCOUT', 'fire a rescue flare');
  if clean_location is null or length(clean_location) not between 1 and 200 then
    perform nexus_private.fail('BAD_REQUEST', 'location must be 1 to 200 characters');
  end if;
  if fire_rescue_flare.flare_type is null then
    perform nexus_private.fail('BAD_REQUEST', 'flareType is required');
  end if;

  -- One requester's flares are decided one at a time, so two quick taps cannot both pass the checks below.
  perform pg_advisory_xact_lock(hashtext('rescue_flare:' || caller::text));

  select * into active from public.rescue_flares f
   where f.requester_id = caller and f.status in ('OPEN', 'ACKNOWLEDGED');
  if active.id is not null then
    perform nexus_private.fail('CONFLICT', format(
      'you already have an active flare (%s at %s, %s); resolve or cancel it before firing another',
      active.flare_type, active.location, active.status));
  end if;

  select count(*), min(f.created_at) into recent, oldest_recent from public.rescue_flares f
   where f.requester_id = caller and f.created_at > now() - interval '1 hour';
  if recent >= max_per_hour then
    -- The hint carries the seconds until the oldest of them leaves the hour: the edges' Retry-After.
    perform nexus_private.fail_rate_limited(format(
      'at most %s rescue flares per hour; the next one is possible in %s minutes', max_per_hour,
      greatest(1, ceil(extract(epoch from oldest_recent + interval '1 hour' - now()) / 60))),
      ceil(extract(epoch from oldest_recent + interval '1 hour' - now()))::integer);
  end if;

  insert into public.rescue_flares (requester_id, location, flare_type)
  values (caller, clean_location, fire_rescue_flare.flare_type)
  returning * into flare;

  -- The fan-out is idempotent, so it may take many attempts; it must never be given up early.
  perform graphile_worker.add_job('push__fanout', json_build_object('flareId', flare.id), max_attempts := 25);
  perform nexus_private.audit('flare.fired',
    jsonb_build_object('flare_id', flare.id, 'flare_type', flare.flare_type, 'location', flare.location));
  return flare;
end
$$;
comment on function public.fire_rescue_flare(text, public.flare_type) is
  E'@resultFieldName rescueFlare\nCall for help: every other member with a push subscription is paged. SCOUT and above; one active flare at a time; at most FLARE_MAX_PER_HOUR an hour.';
grant execute on function public.fire_rescue_flare(text, public.flare_type) to authenticated;

create or replace function public.acknowledge_rescue_flare(flare_id uuid) returns public.rescue_flares
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('answer a rescue flare');
  flare public.rescue_flares;
begin
  select * into flare from public.rescue_flares f where f.id = acknowledge_rescue_flare.flare_id for update;
  if flare.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such rescue flare');
  end if;
  if flare.requester_id = caller then
    perform nexus_private.fail('CONFLICT', 'you cannot answer your own rescue flare');
  end if;
  if flare.status = 'ACKNOWLEDGED' and flare.responder_id = caller then
    return flare; -- asked twice: already yours, nobody is paged again
  end if;
  -- Who you are, not the flare's state: whatever its state, the requester turned you away from this one.
  if exists (select 1 from nexus_private.rescue_flare_releases r where r.flare_id = flare.id and r.responder_id = caller) then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'the requester released you from this flare; you may not answer it again');
  end if;
  if flare.status <> 'OPEN' then
    perform nexus_private.fail('CONFLICT', format('this flare is already %s', flare.status));
  end if;

  update public.rescue_flares f
     set status = 'ACKNOWLEDGED', responder_id = caller, acknowledged_at = now()
   where f.id = flare.id
  returning * into flare;

  perform nexus_private.enqueue_push(flare.requester_id, 'FLARE_ACKNOWLEDGED',
    nexus_private.flare_payload(flare, 'FLARE_ACKNOWLEDGED'), 'flare-acknowledged:' || flare.id || ':' || caller);
  perform nexus_private.audit('flare.acknowledged', jsonb_build_object('flare_id', flare.id));
  return flare;
end
$$;
comment on function public.acknowledge_rescue_flare(uuid) is
  E'@resultFieldName rescueFlare\nAnswer an OPEN rescue flare: you become its responder and the requester is paged. Any member but the requester and the responders they released from it.';
grant execute on function public.acknowledge_rescue_flare(uuid) to authenticated;

/*
 * Release: the requester sends the responder of their ACKNOWLEDGED flare away. The flare is OPEN again for any
 * other member to answer (members list OPEN flares; nobody is paged again, they were paged when it was fired), the
 * member released may not answer it again (acknowledge_rescue_flare), and they are told they need not go. It
 * fires nothing, so it does not count against FLARE_MAX_PER_HOUR: a requester whose flare was taken by someone
 * who will not come no longer has to cancel and fire again. Only the requester: not the responder (who has no
 * use for it), not service_role (operators cancel).
 */
create or replace function public.release_rescue_flare(flare_id uuid) returns public.rescue_flares
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('release the responder of a rescue flare');
  flare public.rescue_flares;
  released uuid;
begin
  select * into flare from public.rescue_flares f where f.id = release_rescue_flare.flare_id for update;
  if flare.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such rescue flare');
  end if;
  if flare.requester_id is distinct from caller then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only the member who fired a flare may release its responder');
  end if;
  if flare.status <> 'ACKNOWLEDGED' then
    perform nexus_private.fail('CONFLICT', format('this flare is %s: it has no responder to release', flare.status));
  end if;
  -- Null when the responder's profile has been deleted since (responder_id is on delete set null): the flare is
  -- OPEN again all the same, and there is nobody to bar or tell.
  released := flare.responder_id;

  if released is not null then
    insert into nexus_private.rescue_flare_releases (flare_id, responder_id) values (flare.id, released)
    on conflict do nothing;
  end if;
  update public.rescue_flares f
     set status = 'OPEN', responder_id = null, acknowledged_at = null
   where f.id = flare.id
  returning * into flare;

  if released is not null then
    perform nexus_private.enqueue_push(released, 'FLARE_RELEASED',
      nexus_private.flare_payload(flare, 'FLARE_RELEASED'), 'flare-released:' || flare.id || ':' || released);
  end if;
  perform nexus_private.audit('flare.released', jsonb_build_object('flare_id', flare.id, 'responder_id', released));
  return flare;
end
$$;
comment on function public.release_rescue_flare(uuid) is
  E'@resultFieldName rescueFlare\nSend the responder of your ACKNOWLEDGED rescue flare away: it is OPEN again for another member, the one released may not answer it again and is told. The requester only; not counted against FLARE_MAX_PER_HOUR.';
grant execute on function public.release_rescue_flare(uuid) to authenticated;

/* Resolve or cancel: the requester's own flare, while it is active. The responder, if any, is told. */
create or replace function nexus_private.close_rescue_flare(flare_id uuid, outcome public.flare_status)
returns public.rescue_flares
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := auth.uid();
  verb text := case outcome when 'RESOLVED' then 'resolve' else 'cancel' end;
  flare public.rescue_flares;
begin
  if not auth.is_service() then
    perform nexus_private.require_member(verb || ' a rescue flare');
  end if;
  select * into flare from public.rescue_flares f where f.id = close_rescue_flare.flare_id for update;
  if flare.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such rescue flare');
  end if;
  if flare.requester_id is distinct from caller and not auth.is_service() then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', format('only the member who fired a flare may %s it', verb));
  end if;
  if flare.status = outcome then
    return flare;
  end if;
  if flare.status not in ('OPEN', 'ACKNOWLEDGED') then
    perform nexus_private.fail('CONFLICT', format('this flare is already %s', flare.status));
  end if;

  update public.rescue_flares f
     set status = outcome,
         resolved_at = case when outcome = 'RESOLVED' then now() end,
         cancelled_at = case when outcome = 'CANCELLED' then now() end
   where f.id = flare.id
  returning * into flare;

  -- Pages still waiting to go out would call members to a rescue that is over.
  update public.notification_queue q
     set failed_at = now(), last_error = format('the flare was %s before this page was sent', lower(outcome::text))
   where q.dedupe_key = 'flare:' || flare.id and q.sent_at is null and q.failed_at is null;

  if flare.responder_id is not null then
    perform nexus_private.enqueue_push(flare.responder_id, 'FLARE_' || outcome::text,
      nexus_private.flare_payload(flare, 'FLARE_' || outcome::text), 'flare-' || lower(outcome::text) || ':' || flare.id);
  end if;
  perform nexus_private.audit('flare.' || lower(outcome::text), jsonb_build_object('flare_id', flare.id));
  return flare;
end
$$;

create or replace function public.resolve_rescue_flare(flare_id uuid) returns public.rescue_flares
language sql volatile security definer set search_path = pg_catalog, public as $$
  select * from nexus_private.close_rescue_flare(flare_id, 'RESOLVED')
$$;
comment on function public.resolve_rescue_flare(uuid) is E'@resultFieldName rescueFlare\nMark your rescue flare as resolved: help arrived. The responder, if any, is told.';
grant execute on function public.resolve_rescue_flare(uuid) to authenticated, service_role;

create or replace function public.cancel_rescue_flare(flare_id uuid) returns public.rescue_flares
language sql volatile security definer set search_path = pg_catalog, public as $$
  select * from nexus_private.close_rescue_flare(flare_id, 'CANCELLED')
$$;
comment on function public.cancel_rescue_flare(uuid) is E'@resultFieldName rescueFlare\nCall off your rescue flare. Pages not yet sent are dropped; the responder, if any, is told.';
grant execute on function public.cancel_rescue_flare(uuid) to authenticated, service_role;

/*
 * One page of a flare's fan-out (the push__fanout task calls it until it returns no subscription): queue a
 * RESCUE_FLARE row for each device of every other member after `after_subscription` (in id order), skipping
 * devices already queued for this flare, and the delivery jobs for the new rows, in one transaction. A flare
 * already resolved or cancelled is not paged.
 */
create or replace function nexus_private.fan_out_flare(flare_id uuid, after_subscription uuid, page_size integer,
  batch_size integer)
returns table (last_subscription_id uuid, queued integer)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  flare public.rescue_flares;
  message jsonb;
  last_id uuid;
  queued_ids bigint[];
begin
  select * into flare from public.rescue_flares f where f.id = fan_out_flare.flare_id;
  if flare.id is null or flare.status not in ('OPEN', 'ACKNOWLEDGED') then
    return query select null::uuid, 0;
    return;
  end if;
  message := nexus_private.flare_payload(flare, 'RESCUE_FLARE');

  with page as (
    select s.id, s.user_id from public.push_subscriptions s
     where s.user_id <> flare.requester_id
       and (after_subscription is null or s.id > after_subscription)
     order by s.id
     limit page_size
  ), queued_rows as (
    insert into public.notification_queue (type, user_id, subscription_id, payload, dedupe_key)
    select 'RESCUE_FLARE', page.user_id, page.id, message, 'flare:' || flare.id from page
    on conflict on constraint notification_queue_one_per_device do nothing
    returning id
  )
  select (select p.id from page p order by p.id desc limit 1), array(select r.id from queued_rows r order by r.id)
    into last_id, queued_ids;

  perform nexus_private.enqueue_deliveries(queued_ids, batch_size);
  return query select last_id, coalesce(cardinality(queued_ids), 0);
end
$$;
grant execute on function nexus_private.fan_out_flare(uuid, uuid, integer, integer) to service_role;

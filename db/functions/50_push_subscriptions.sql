/*
 * Subscribing a device to Web Push (GraphQL subscribePush / unsubscribePush, REST notifications-subscribe).
 * The same checks as the table's constraints, first, so a caller gets a sentence naming the bad field rather
 * than a constraint name.
 */

/* How many devices one member keeps: subscribing another drops their oldest, so no member can make a flare's
 * fan-out send to thousands of endpoints they control. */
create or replace function nexus_private.push_devices_per_member() returns integer
language sql immutable parallel safe as $$ select 10 $$;

/*
 * One spelling per device: the host in lower case and the default port left out (`https://FCM.googleapis.com:0443/x`
 * is `https://fcm.googleapis.com/x`), so the same endpoint written another way is the same row and is paged once.
 * The path is kept as written (push services' paths are case-sensitive). Null for what is not an endpoint.
 */
create or replace function nexus_private.canonical_push_endpoint(endpoint text) returns text
language plpgsql immutable strict parallel safe set search_path = pg_catalog as $$
declare
  target record;
begin
  -- The host and port as the allowed list and the sender read them (lower case; 443 when none is written).
  target := nexus_private.push_endpoint_target(endpoint);
  if target.host is null then
    return null;
  end if;
  return 'https://' || target.host || case when target.port = 443 then '' else ':' || target.port end
      || substring(endpoint from '^https://[^/]*(.*)$');
end
$$;

create or replace function public.subscribe_push(endpoint text, p256dh text, auth text)
returns public.push_subscriptions
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('receive push notifications');
  clean_endpoint text := nexus_private.canonical_push_endpoint(btrim(subscribe_push.endpoint));
  -- Browsers give base64url without padding; accept standard base64 and padding too, store base64url.
  clean_p256dh text := rtrim(translate(btrim(subscribe_push.p256dh), '+/', '-_'), '=');
  clean_auth text := rtrim(translate(btrim(subscribe_push.auth), '+/', '-_'), '=');
  previous_owner uuid;
  subscription public.push_subscriptions;
begin
  -- null unless it is an endpoint (nexus_private.is_push_endpoint)
  if clean_endpoint is null then
    perform nexus_private.fail('BAD_REQUEST', 'endpoint must be the https:// URL your browser''s push service issued');
  end if;
  if clean_p256dh is null or clean_p256dh !~ '^[A-Za-z0-9_-]+$'
     or not nexus_private.is_p256_public_key(nexus_private.base64url_decode(clean_p256dh)) then
    perform nexus_private.fail('BAD_REQUEST',
      'p256dh must be the device''s P-256 public key: an uncompressed curve point (65 bytes), base64url');
  end if;
  if clean_auth is null or clean_auth !~ '^[A-Za-z0-9_-]+$'
     or coalesce(length(nexus_private.base64url_decode(clean_auth)), 0) <> 16 then
    perform nexus_private.fail('BAD_REQUEST', 'auth must be the device''s 16-byte secret, base64url');
  end if;

  -- Each registration that would be stored takes one from the caller's bucket (PUSH_REGISTRATION_BURST, refilled
  -- at PUSH_REGISTRATIONS_PER_HOUR): a refresh from every page load fits, a script rotating endpoints or moving
  -- one between its own accounts (an audit row each time) does not. A refused input above charges nothing.
  perform nexus_private.charge_rate_limit(caller, 'push_registration', 1);

  select s.user_id into previous_owner from public.push_subscriptions s where s.endpoint = clean_endpoint for update;

  insert into public.push_subscriptions as s (user_id, endpoint, p256dh, auth)
  values (caller, clean_endpoint, clean_p256dh, clean_auth)
  on conflict on constraint push_subscriptions_endpoint_key do update
    set user_id = excluded.user_id,
        p256dh = excluded.p256dh,
        auth = excluded.auth,
        failure_count = 0,
        created_at = case when s.user_id = excluded.user_id then s.created_at else now() end,
        last_success_at = case when s.user_id = excluded.user_id then s.last_success_at end
  returning * into subscription;

  if previous_owner is not null and previous_owner <> caller then
    -- A device that signs in as someone else stops paging its previous member.
    perform nexus_private.audit('push.subscription_moved',
      jsonb_build_object('subscription_id', subscription.id, 'from', previous_owner, 'to', caller));
  end if;

  -- Keep this device and the member's most recently added or reached others, up to the cap.
  delete from public.push_subscriptions s
   where s.id in (select old.id from public.push_subscriptions old
                   where old.user_id = caller and old.id <> subscription.id
                   order by greatest(old.created_at, old.last_success_at) desc, old.id desc
                  offset nexus_private.push_devices_per_member() - 1);
  return subscription;
end
$$;
comment on function public.subscribe_push(text, text, text) is
  E'@resultFieldName pushSubscription\nRegister (or refresh) this device for push notifications: the endpoint and keys of the browser''s PushSubscription. An endpoint already registered by another member moves to you. Rate limited per member (RATE_LIMITED with retryAfter).';
grant execute on function public.subscribe_push(text, text, text) to authenticated;

create or replace function public.unsubscribe_push(endpoint text) returns boolean
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('manage push notifications');
begin
  -- As stored now, or as written before endpoints were stored in one spelling.
  delete from public.push_subscriptions s
   where s.endpoint in (btrim(unsubscribe_push.endpoint), nexus_private.canonical_push_endpoint(btrim(unsubscribe_push.endpoint)))
     and s.user_id = caller;
  return found;
end
$$;
comment on function public.unsubscribe_push(text) is
  E'@resultFieldName unsubscribed\nStop push notifications to this device. True if it was subscribed to you; false if there was nothing to remove.';
grant execute on function public.unsubscribe_push(text) to authenticated;

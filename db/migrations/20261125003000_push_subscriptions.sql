-- migrate:up
/*
 * Push subscriptions: the browsers and phones on which a member allowed Web Push, so a rescue flare or a sim pod
 * reaches them with the app closed. One row per device, as the browser's PushSubscription gives it: the push
 * service URL to POST to (`endpoint`) and the two keys RFC 8291 encrypts for (`p256dh`, the device's P-256 public
 * key; `auth`, its 16-byte secret), both base64url.
 *
 * An endpoint belongs to one member: a device that signs in as someone else moves to them (public.subscribe_push).
 * Not a delivery log: what was sent, when and how it went is public.notification_queue.
 *
 * The keys are checked here, by constraints, so nothing undeliverable is stored whichever way a row arrives
 * (subscribePush, the REST route, or an operator's insert in the SQL editor): p256dh must decode to an
 * uncompressed point on the P-256 curve, auth to exactly 16 bytes, endpoint must be an https:// URL.
 */

/* base64url (or standard base64; padding optional) to bytes; null when the text is not base64 at all. */
create function nexus_private.base64url_decode(value text) returns bytea
language plpgsql immutable strict parallel safe set search_path = pg_catalog as $$
declare
  bare text := rtrim(translate(value, '-_', '+/'), '=');
begin
  if bare !~ '^[A-Za-z0-9+/]*$' or length(bare) % 4 = 1 then
    return null;
  end if;
  return decode(bare || repeat('=', (4 - length(bare) % 4) % 4), 'base64');
end
$$;
comment on function nexus_private.base64url_decode(text) is 'Bytes of a base64url (or base64) text, padding optional; null when it is not base64.';

/*
 * Whether the bytes are an uncompressed SEC1 point on NIST P-256 (0x04 || X || Y, 65 bytes) with X, Y below the
 * field prime and y^2 = x^3 - 3x + b (mod p). A browser's p256dh always is; a typo or a key for another curve
 * is not, and web-push could never encrypt for it.
 */
create function nexus_private.is_p256_public_key(key bytea) returns boolean
language plpgsql immutable parallel safe set search_path = pg_catalog as $$
declare
  p constant numeric := 115792089210356248762697446949407573530086143415290314195533631308867097853951;
  b constant numeric := 41058363725152142129326129780047268409114441015993725554835256314039467401291;
  x numeric := 0;
  y numeric := 0;
begin
  if key is null or length(key) <> 65 or get_byte(key, 0) <> 4 then
    return false;
  end if;
  for i in 1..32 loop
    x := x * 256 + get_byte(key, i);
    y := y * 256 + get_byte(key, i + 32);
  end loop;
  if x >= p or y >= p then
    return false;
  end if;
  -- x^3 - 3x + b is positive for every x >= 0, so mod() needs no sign care.
  return mod(y * y, p) = mod(x * x * x - 3 * x + b, p);
end
$$;
comment on function nexus_private.is_p256_public_key(bytea) is 'True for an uncompressed point on P-256 (65 bytes, 0x04 prefix, on the curve).';

/* An https:// URL with a plain host (name, IPv4 or [IPv6]), optional port and path; no credentials, no spaces. */
create function nexus_private.is_push_endpoint(endpoint text) returns boolean
language sql immutable strict parallel safe set search_path = pg_catalog as $$
  select length(endpoint) <= 2048
     and endpoint ~ '^https://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[^\s#]*)?$'
$$;
comment on function nexus_private.is_push_endpoint(text) is 'True for an https:// URL a push service could have issued.';

-- service_role's inserts evaluate the constraints below; members only write through security definer functions.
grant execute on function nexus_private.base64url_decode(text), nexus_private.is_p256_public_key(bytea),
  nexus_private.is_push_endpoint(text) to service_role;

create table public.push_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  endpoint text not null,
  p256dh text not null,
  auth text not null,
  created_at timestamptz not null default now(),
  last_success_at timestamptz,
  failure_count integer not null default 0,
  constraint push_subscriptions_endpoint_key unique (endpoint),
  constraint push_subscriptions_endpoint_https check (nexus_private.is_push_endpoint(endpoint)),
  constraint push_subscriptions_p256dh_point check (
    p256dh ~ '^[A-Za-z0-9_-]+$' and nexus_private.is_p256_public_key(nexus_private.base64url_decode(p256dh))),
  constraint push_subscriptions_auth_16_bytes check (
    auth ~ '^[A-Za-z0-9_-]+$' and length(nexus_private.base64url_decode(auth)) = 16),
  constraint push_subscriptions_failure_count check (failure_count >= 0)
);
alter table public.push_subscriptions enable row level security;
create index push_subscriptions_user_id_idx on public.push_subscriptions (user_id);

comment on table public.push_subscriptions is
  E'@behavior -insert -update\nA device on which a member receives Web Push: its push service endpoint and encryption keys. Added with subscribePush, removed with unsubscribePush or deletePushSubscription.';
comment on column public.push_subscriptions.endpoint is 'The push service URL the browser issued; unique: a device belongs to one member.';
comment on column public.push_subscriptions.p256dh is E'@behavior -*\nThe device''s P-256 public key (uncompressed point, base64url).';
comment on column public.push_subscriptions.auth is E'@behavior -*\nThe device''s 16-byte authentication secret (base64url).';
comment on column public.push_subscriptions.last_success_at is 'When a push to this device was last accepted by its push service.';
comment on column public.push_subscriptions.failure_count is 'Failed pushes since the last success; the subscription is deleted when its push service answers 404 or 410.';

grant select, delete on public.push_subscriptions to authenticated;
grant select, insert, update, delete on public.push_subscriptions to service_role;

-- migrate:down
-- The functions db/functions/50_push_subscriptions.sql adds for this table go with it.
drop function if exists public.subscribe_push(text, text, text);
drop function if exists public.unsubscribe_push(text);
drop function if exists nexus_private.push_devices_per_member();
drop table if exists public.push_subscriptions;
drop function if exists nexus_private.is_push_endpoint(text);
drop function if exists nexus_private.is_p256_public_key(bytea);
drop function if exists nexus_private.base64url_decode(text);

-- migrate:up
/*
 * A push subscription's endpoint and keys are checked when they are written, by a trigger on exactly those
 * columns, instead of by CHECK constraints, which Postgres evaluates on every UPDATE of a row whatever it changes.
 * Delivering a push updates the device's last_success_at or failure_count (nexus_private.record_push_outcomes):
 * a flare to 10,000 devices reached for the first time re-validated 10,000 P-256 points, auth secrets and
 * endpoints nobody had changed, about 1.2 s of Postgres CPU, a third of the flare's (bench/push-fanout.ts with
 * pg_stat_statements).
 *
 * The rule is the one the constraints held, on every path that writes endpoint, p256dh or auth (subscribePush,
 * the REST route, an operator's insert, an import), with the same error: SQLSTATE 23514 (check_violation) naming
 * the same constraint. One difference, failing closed: a CHECK passes when its expression is null, which let an
 * auth of the right characters but an impossible base64 length (5 characters, say) through; the trigger
 * refuses it.
 */
create function nexus_private.push_subscriptions_valid() returns trigger
language plpgsql security definer set search_path = pg_catalog as $$
declare
  broken text;
begin
  if not coalesce(nexus_private.is_push_endpoint(new.endpoint), false) then
    broken := 'push_subscriptions_endpoint_https';
  elsif not coalesce(new.p256dh ~ '^[A-Za-z0-9_-]+$' and nexus_private.is_p256_public_key(nexus_private.base64url_decode(new.p256dh)), false) then
    broken := 'push_subscriptions_p256dh_point';
  elsif not coalesce(new.auth ~ '^[A-Za-z0-9_-]+$' and length(nexus_private.base64url_decode(new.auth)) = 16, false) then
    broken := 'push_subscriptions_auth_16_bytes';
  end if;
  if broken is not null then
    raise exception 'new row for relation "push_subscriptions" violates check constraint "%"', broken
      using errcode = 'check_violation', constraint = broken, schema = 'public', table = 'push_subscriptions';
  end if;
  return new;
end
$$;

create trigger push_subscriptions_valid before insert or update of endpoint, p256dh, auth on public.push_subscriptions
  for each row execute function nexus_private.push_subscriptions_valid();

alter table public.push_subscriptions
  drop constraint push_subscriptions_endpoint_https,
  drop constraint push_subscriptions_p256dh_point,
  drop constraint push_subscriptions_auth_16_bytes;

-- migrate:down
alter table public.push_subscriptions
  add constraint push_subscriptions_endpoint_https check (nexus_private.is_push_endpoint(endpoint)),
  add constraint push_subscriptions_p256dh_point check (
    p256dh ~ '^[A-Za-z0-9_-]+$' and nexus_private.is_p256_public_key(nexus_private.base64url_decode(p256dh))),
  add constraint push_subscriptions_auth_16_bytes check (
    auth ~ '^[A-Za-z0-9_-]+$' and length(nexus_private.base64url_decode(auth)) = 16);
drop trigger if exists push_subscriptions_valid on public.push_subscriptions;
drop function if exists nexus_private.push_subscriptions_valid();

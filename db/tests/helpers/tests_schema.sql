/*
 * pgTAP helpers (basejump style), installed by the test runner into the pgTAP database only. Each test file runs
 * in a transaction that it rolls back, so users made here vanish with it.
 */
create schema if not exists tests;
grant usage on schema tests to public;

/* A member with the given callsign and rank; cheap bcrypt so tests stay fast. */
create or replace function tests.create_user(callsign text, rank public.rank default 'VAGRANT') returns uuid
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  new_id uuid;
begin
  insert into auth.users (email, password_hash)
  values (lower(callsign) || '@tests.invalid', crypt('password', gen_salt('bf', 4)))
  returning id into new_id;
  insert into public.profiles (id, callsign, rank) values (new_id, callsign, rank);
  return new_id;
end
$$;

/* The member of that rank made for this test transaction (one per rank, created on first use). */
create or replace function tests.user_of_rank(wanted public.rank) returns uuid
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  found uuid;
begin
  select u.id into found from auth.users u where u.email = 'test-' || lower(wanted::text) || '@tests.invalid';
  if found is null then
    found := tests.create_user('test-' || lower(wanted::text), wanted);
  end if;
  return found;
end
$$;

/* Switch to a signed-in member the way a request does: role `authenticated` and the JWT claims. */
create or replace function tests.authenticate_as(user_id uuid) returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims',
    json_build_object('sub', user_id, 'role', 'authenticated', 'aud', 'authenticated')::text, true);
  perform set_config('role', 'authenticated', true);
end
$$;

/* Back to an anonymous request: role `anon`, no claims. */
create or replace function tests.clear_authentication() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '', true);
  perform set_config('role', 'anon', true);
end
$$;

/* Act as the service role (workers, operators' tools). */
create or replace function tests.authenticate_as_service() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
  perform set_config('role', 'service_role', true);
end
$$;

grant execute on all functions in schema tests to public;

/* A real device's keys (a P-256 public key and a 16-byte auth secret, base64url), for push subscriptions in tests. */
create or replace function tests.push_p256dh() returns text
language sql immutable as $$
  select 'BB352rV3H-rXRiQi64a0BzoCh9jM8m6j9y0Fq6nwGY8esbybTMQ8w7s977cnOT7ULnI8gVjvCvHiiHXhpm2KPYs'
$$;
create or replace function tests.push_auth() returns text
language sql immutable as $$ select 'cQki06ubNJnY7UnPlCN1hA' $$;

/* A push subscription for a member, inserted as an operator would; a fresh endpoint unless one is given. */
create or replace function tests.subscribe(member uuid, endpoint text default null) returns uuid
language sql security definer set search_path = pg_catalog, public as $$
  insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
  values (member, coalesce(endpoint, 'https://push.tests.invalid/' || gen_random_uuid()), tests.push_p256dh(), tests.push_auth())
  returning id
$$;

grant execute on all functions in schema tests to public;

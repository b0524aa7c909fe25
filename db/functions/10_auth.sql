/*
 * Supabase-compatible identity helpers. The server verifies the JWT (HS256, JWT_SECRET) and hands its claims
 * to Postgres as `request.jwt.claims`; these functions are the only way SQL reads them.
 */
create or replace function auth.jwt() returns jsonb
language sql stable parallel safe as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

/*
 * The user id the JWT claims (its `sub`), read in this one place: null without one. Not an identity on its own
 * (see auth.uid() below): only SQL that then looks the member up uses it, as auth.uid() and auth.rank() do, and as
 * the voice token decision does to read the caller's profile in the same lookup (public.issue_voice_grants).
 *
 * A sub counts only on a member's token, and only while that token is in force, so every rule that asks who the
 * caller is sees anon otherwise:
 *   - the role is `authenticated` (an anon or service_role JWT that carries a sub names no one);
 *   - its `exp`, when the claims have one, has not passed (the HTTP edge checks it per request; this holds for
 *     what outlives the request, such as a subscription's check before each event), and one that is not a number
 *     is taken as passed;
 *   - the session it names (`session_id`) has not been revoked: sign-out, password change, refresh token reuse or
 *     an operator ends its access tokens at once, not at their `exp`. A session_id with no row is a token of a
 *     session pruned long after its tokens expired (nexus_private.prune_sign_in_state keeps ended sessions for
 *     nexus.session_idle_days) or one Supabase signed with the same secret: only its signature and exp count.
 * PL/pgSQL keeps the session lookup's plan. Security definer: it reads nexus_private.sessions; not executable by
 * the API roles.
 */
create or replace function auth.claimed_sub() returns uuid
language plpgsql stable security definer parallel safe set search_path = pg_catalog as $$
declare
  claims jsonb := auth.jwt();
  expires text := claims ->> 'exp';
  session uuid;
begin
  if coalesce(nullif(claims ->> 'role', ''), nullif(current_setting('request.jwt.claim.role', true), '')) is distinct from 'authenticated' then
    return null;
  end if;
  if expires is not null and (expires !~ '^[0-9]{1,15}(\.[0-9]+)?$' or expires::numeric <= extract(epoch from now())) then
    return null;
  end if;
  session := nexus_private.as_uuid(claims ->> 'session_id');
  if session is not null and exists (select 1 from nexus_private.sessions s where s.id = session and s.revoked_at is not null) then
    return null;
  end if;
  return nexus_private.as_uuid(coalesce(nullif(claims ->> 'sub', ''), nullif(current_setting('request.jwt.claim.sub', true), '')));
end
$$;
revoke execute on function auth.claimed_sub() from public;
comment on function auth.claimed_sub() is 'The JWT''s sub as claimed, without looking the member up; see auth.uid().';

/*
 * A member is a profile: the caller's user id only while that member's profile exists. A JWT stays valid until
 * its `exp`, but the member it names may have been deleted since it was signed; from that moment its `sub` is
 * no one, and every policy and function that asks auth.uid() (or auth.rank(), which asks this) treats the caller
 * as anon. Security definer: it reads profiles, whose own policies call it. PL/pgSQL keeps the lookup's plan.
 */
create or replace function auth.uid() returns uuid
language plpgsql stable security definer parallel safe set search_path = pg_catalog, public as $$
begin
  return (select p.id from public.profiles p where p.id = auth.claimed_sub());
end
$$;
comment on function auth.uid() is 'The signed-in member''s id: the JWT''s sub while a profile with that id exists, else null (anon).';

/* The caller's role as its JWT says, except that a member whose profile is gone is anon (see auth.uid()). */
create or replace function auth.role() returns text
language plpgsql stable parallel safe as $$
declare
  claimed text := coalesce(nullif(auth.jwt() ->> 'role', ''), nullif(current_setting('request.jwt.claim.role', true), ''), 'anon');
begin
  if claimed = 'authenticated' and auth.uid() is null then
    return 'anon';
  end if;
  return claimed;
end
$$;

-- security definer: a policy on profiles that read profiles directly would recurse (see DESIGN.md, known traps).
-- PL/pgSQL rather than SQL: every policy calls it, and PL/pgSQL keeps its plan across calls (a security
-- definer SQL function is planned again on each one).
create or replace function auth.rank() returns public.rank
language plpgsql stable security definer parallel safe set search_path = pg_catalog, public as $$
begin
  -- The same lookup as auth.uid(), once: no profile for the sub, no rank.
  return (select p.rank from public.profiles p where p.id = auth.claimed_sub());
end
$$;
comment on function auth.rank() is 'The caller''s rank, or null without a signed-in member.';

create or replace function auth.is_service() returns boolean
language sql stable parallel safe as $$
  select current_user = 'service_role' or auth.role() = 'service_role'
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.rank(), auth.is_service()
  to anon, authenticated, service_role;

/*
 * Append to the audit trail as the current caller (the member or service_role the request acts as, read from the
 * claims). Only the security definer functions that do what the entry records call it, so no API role may execute
 * it: a member with a SQL session of their own (none has one today) could otherwise add entries of their choosing
 * under their name ("member.rank_changed" to PIONEER) that an operator reading the trail would take as real.
 */
create or replace function nexus_private.audit(action text, details jsonb) returns void
language sql volatile security definer set search_path = pg_catalog, public as $$
  insert into nexus_private.audit_log (actor_id, actor_role, action, details)
  values (auth.uid(), case when auth.is_service() then 'service_role' else auth.role() end, action, coalesce(details, '{}'))
$$;
revoke execute on function nexus_private.audit(text, jsonb) from public, anon, authenticated, service_role;

/* Rank names at the edges (REST bodies, webhook metadata, CLI) are matched case-insensitively. */
create or replace function public.parse_rank(name text) returns public.rank
language plpgsql immutable parallel safe as $$
begin
  if name is null or upper(btrim(name)) not in ('VAGRANT', 'AFFILIATE', 'SCOUT', 'VOYAGER', 'FOUNDER', 'PIONEER') then
    perform nexus_private.fail('BAD_REQUEST', format('unknown rank %L: expected one of VAGRANT, AFFILIATE, SCOUT, VOYAGER, FOUNDER, PIONEER', name));
  end if;
  return upper(btrim(name))::public.rank;
end
$$;
grant execute on function public.parse_rank(text) to anon, authenticated, service_role;

/*
 * A callsign as it is kept and compared: no space at either end and none doubled, so that "Founder1 " or
 * "Founder  1" cannot pass for another member in a roster or as a LiveKit display name (the unique index is on
 * lower(callsign), which then sees them as the same). public.profiles applies it to every write (trigger
 * profiles_tidy_callsign, db/functions/20_profiles.sql).
 */
create or replace function nexus_private.tidy_callsign(callsign text) returns text
language sql immutable parallel safe as $$
  select regexp_replace(btrim(callsign, ' '), ' {2,}', ' ', 'g')
$$;

/*
 * The one place accounts are created: register() for newcomers, the operators' CLI for any rank. A taken callsign
 * or e-mail raises CONFLICT (register() answers it as a refusal row, counted against the sign-up limit).
 */
create or replace function nexus_private.create_user(email text, password text, callsign text, rank public.rank)
returns uuid
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  new_id uuid;
begin
  if email is null or email !~ '^[^@\s]+@[^@\s]+$' or length(email) > 320 then
    perform nexus_private.fail('BAD_REQUEST', 'email must look like name@host', 'email_address_invalid');
  end if;
  if password is null or length(password) < 8 or length(password) > 72 then
    perform nexus_private.fail('BAD_REQUEST', 'password must be 8 to 72 characters', 'weak_password');
  end if;
  create_user.callsign := nexus_private.tidy_callsign(create_user.callsign);
  if callsign is null or callsign !~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{1,31}$' then
    perform nexus_private.fail('BAD_REQUEST', 'callsign must be 2 to 32 letters, digits, spaces, dots, dashes or underscores', 'validation_failed');
  end if;
  -- The callsign first: a taken one then answers the same whether the e-mail has an account or not, so it
  -- cannot be used to ask about e-mails (auth.register).
  if exists (select 1 from public.profiles p where lower(p.callsign) = lower(create_user.callsign)) then
    perform nexus_private.fail('CONFLICT', format('callsign %s is taken', create_user.callsign));
  end if;
  if exists (select 1 from auth.users u where lower(u.email) = lower(create_user.email)) then
    perform nexus_private.fail('CONFLICT', 'an account with this email already exists', 'user_already_exists');
  end if;
  insert into auth.users (email, password_hash)
  values (lower(create_user.email), crypt(create_user.password, gen_salt('bf', 10)))
  returning id into new_id;
  insert into public.profiles (id, callsign, rank) values (new_id, create_user.callsign, coalesce(create_user.rank, 'VAGRANT'));
  return new_id;
end
$$;
grant execute on function nexus_private.create_user(text, text, text, public.rank) to service_role;


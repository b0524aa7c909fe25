/*
 * Who is calling, asked in one place. Every function that acts for a member starts with one of these instead of
 * its own reading of auth.uid() and auth.rank(), so "is the caller a member" and "is the caller of this rank"
 * mean the same thing everywhere:
 *   nexus_private.require_member(action)        a signed-in member (a profile for the JWT's sub), else
 *                                               UNAUTHENTICATED "sign in to <action>"; returns their id.
 *   nexus_private.require_rank(minimum, action) a member of at least `minimum`, else UNAUTHENTICATED as above or
 *                                               INSUFFICIENT_CLEARANCE "only <minimum> or above may <action>";
 *                                               service_role (operators) always passes.
 * `action` completes the sentence the caller reads: 'bridge nets', 'fire a rescue flare'.
 */
create or replace function nexus_private.require_member(action text) returns uuid
language plpgsql stable set search_path = pg_catalog, public as $$
declare
  -- No sub, or a sub that names no profile: auth.uid() is null for both (a member is a profile).
  caller uuid := auth.uid();
begin
  if caller is null then
    perform nexus_private.fail('UNAUTHENTICATED', format('sign in to %s', action));
  end if;
  return caller;
end
$$;
comment on function nexus_private.require_member(text) is
  'The caller''s user id when they are a signed-in member, else UNAUTHENTICATED ("sign in to <action>").';
grant execute on function nexus_private.require_member(text) to anon, authenticated, service_role;

create or replace function nexus_private.require_rank(minimum public.rank, action text) returns void
language plpgsql stable set search_path = pg_catalog, public as $$
begin
  if auth.is_service() then
    return;
  end if;
  perform nexus_private.require_member(action);
  if auth.rank() < minimum then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', format('only %s or above may %s; you are %s', minimum, action, auth.rank()));
  end if;
end
$$;
comment on function nexus_private.require_rank(public.rank, text) is
  'Refuse unless the caller is a member of at least `minimum` (service_role always passes): UNAUTHENTICATED or INSUFFICIENT_CLEARANCE.';
grant execute on function nexus_private.require_rank(public.rank, text) to anon, authenticated, service_role;

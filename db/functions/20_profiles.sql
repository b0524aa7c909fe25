/* The signed-in member's own profile (GraphQL `currentProfile`). */
create or replace function public.current_profile() returns public.profiles
language sql stable as $$
  select * from public.profiles where id = auth.uid()
$$;
grant execute on function public.current_profile() to authenticated;

/*
 * Promotion (DESIGN.md §2): a member may set another member's rank to at most one step below their own, never
 * their own rank, and only while the target's current rank is below theirs. service_role (operators) may set
 * any rank. Every change is audited.
 */
create or replace function public.set_member_rank(member_id uuid, new_rank public.rank) returns public.profiles
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller_rank public.rank := auth.rank();
  target public.profiles;
  ladder public.rank[] := enum_range(null::public.rank);
  old_rank public.rank;
begin
  select * into target from public.profiles where id = member_id for update;
  if not auth.is_service() then
    perform nexus_private.require_member('change ranks');
    if target.id is null then
      perform nexus_private.fail('NOT_FOUND', 'no such member');
    end if;
    if target.id = auth.uid() then
      perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'a member cannot change their own rank');
    end if;
    if target.rank >= caller_rank then
      perform nexus_private.fail('INSUFFICIENT_CLEARANCE',
        format('%s may only change the rank of members below %s', caller_rank, caller_rank));
    end if;
    if array_position(ladder, new_rank) > array_position(ladder, caller_rank) - 1 then
      perform nexus_private.fail('INSUFFICIENT_CLEARANCE',
        format('%s may set ranks up to one step below their own, not %s', caller_rank, new_rank));
    end if;
  elsif target.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such member');
  end if;
  if target.rank = new_rank then
    return target;
  end if;
  -- Only a change is charged, and only a member's (service_role has no bucket): a script flipping a rank back and
  -- forth wrote an audit row each time, and queued a live rights job each time the target was connected.
  if not auth.is_service() then
    perform nexus_private.charge_rate_limit(auth.uid(), 'rank_change', 1);
  end if;
  old_rank := target.rank;
  update public.profiles set rank = new_rank where id = member_id returning * into target;
  perform nexus_private.audit('member.rank_changed',
    jsonb_build_object('member_id', member_id, 'from', old_rank, 'to', new_rank));
  return target;
end
$$;
grant execute on function public.set_member_rank(uuid, public.rank) to authenticated, service_role;

/* Every callsign written, by any path (updateProfile, sign-up, the CLI, an import, the SQL editor), is kept tidy. */
create or replace function nexus_private.profiles_tidy_callsign() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  new.callsign := nexus_private.tidy_callsign(new.callsign);
  return new;
end
$$;
create or replace trigger profiles_tidy_callsign before insert or update of callsign on public.profiles
  for each row execute function nexus_private.profiles_tidy_callsign();

/*
 * Leaving Supabase (`npm run nexus -- import supabase --from <url>`): the CLI reads the old NomadNexus database
 * and hands each old table's rows here as jsonb; these functions decide what each row becomes. Every row is
 * recorded in nexus_private.imported_rows with its whole old content, so:
 *   - a second run finds every row recorded and unchanged, and does nothing (idempotent, no duplicates);
 *   - a column this schema has no place for (rsi_handle, discord_id, type, priority, …) is kept there, and named
 *     in the answer (`unmapped`) so the dry run can list it;
 *   - a row that cannot be brought over (an invalid push key, a name taken here) is kept there too, with why.
 * The dry run is the same call in a transaction that the CLI rolls back.
 *
 * Old → new: auth.users keeps its ids and bcrypt hashes (members sign in with the passwords they have);
 * profiles.rank (lowercase text) → public.rank; callsign from `callsign`, else raw_user_meta_data.callsign, else
 * full_name, else the e-mail's local part, made valid and unique; voice_nets.code → room_name (the old frontend
 * sends voice_nets.code as roomName), label → name, min_rank_to_* lowercase → public.rank.
 */

/* A valid callsign from free text, unique here (`-2`, `-3`… when taken by another member). */
create or replace function nexus_private.import_callsign(wanted text, member uuid) returns text
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  base text := regexp_replace(btrim(coalesce(wanted, '')), '[^A-Za-z0-9 _.-]', '_', 'g');
  candidate text;
  n integer := 1;
begin
  base := regexp_replace(base, '^[^A-Za-z0-9]+', '');
  if length(base) < 2 then
    base := rpad(coalesce(nullif(base, ''), 'member'), 2, '0');
  end if;
  base := left(base, 32);
  candidate := base;
  while exists (select 1 from public.profiles p where lower(p.callsign) = lower(candidate) and p.id <> member) loop
    n := n + 1;
    candidate := left(base, 32 - length(n::text) - 1) || '-' || n;
  end loop;
  return candidate;
end
$$;

/* An old lowercase rank name as public.rank, or null when it is none of the ladder's. */
create or replace function nexus_private.import_rank(old text) returns public.rank
language sql immutable as $$
  select case when upper(btrim(old)) in ('VAGRANT', 'AFFILIATE', 'SCOUT', 'VOYAGER', 'FOUNDER', 'PIONEER')
              then upper(btrim(old))::public.rank end
$$;

/*
 * Bring over one old table's rows. Answers one line per row: its old key, what happened (`insert`, `unchanged`
 * (already imported, same content), `changed` (imported before, different now: left as it is here, listed),
 * `exists` (the same row is already here), `kept` (not brought over; the old row is kept, `note` says why)),
 * the row it became here, and the old columns with a value that have no column here.
 */
create or replace function nexus_private.import_supabase_rows(source_table text, old_rows jsonb)
returns table (source_key text, action text, local_id text, unmapped text[], note text)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  old jsonb;
  mapped text[];
  local_tbl text;
  previous jsonb;
  new_id text;
  wanted_callsign text;
  join_rank public.rank;
begin
  if not auth.is_service() then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only operators import');
  end if;
  mapped := case source_table
    when 'auth.users' then array['id', 'email', 'encrypted_password', 'created_at']
    when 'public.profiles' then array['id', 'email', 'rank', 'callsign', 'full_name', 'created_at']
    when 'public.squads' then array['id', 'name', 'description', 'created_at']
    when 'public.squad_members' then array['squad_id', 'user_id', 'role', 'joined_at', 'created_at']
    when 'public.voice_nets' then array['id', 'code', 'label', 'description', 'min_rank_to_join', 'min_rank_to_rx',
                                        'min_rank_to_tx', 'linked_squad_id', 'created_at']
    when 'public.voice_net_bridges' then array['id', 'source_net_id', 'target_net_id', 'created_by', 'created_at']
    when 'public.push_subscriptions' then array['id', 'user_id', 'endpoint', 'p256dh', 'auth', 'created_at']
    when 'public.skills' then array['id', 'name', 'description', 'category', 'created_at']
    when 'public.mentor_certifications' then array['user_id', 'skill_id', 'granted_by', 'created_at']
    end;
  if mapped is null then
    perform nexus_private.fail('BAD_REQUEST', format('no import for %s', source_table));
  end if;
  local_tbl := case source_table when 'auth.users' then 'auth.users' else source_table end;

  for old in select value from jsonb_array_elements(old_rows) loop
    source_key := case source_table
      when 'public.squad_members' then (old ->> 'squad_id') || ':' || (old ->> 'user_id')
      when 'public.mentor_certifications' then (old ->> 'user_id') || ':' || (old ->> 'skill_id')
      when 'public.push_subscriptions' then old ->> 'endpoint'
      else old ->> 'id' end;
    unmapped := array(select k from jsonb_each(old) e(k, v) where v <> 'null'::jsonb and k <> all (mapped) order by k);
    note := null;
    select i.old_row, i.local_id into previous, local_id from nexus_private.imported_rows i
     where i.source_table = import_supabase_rows.source_table and i.source_key = import_supabase_rows.source_key;
    if found then
      action := case when previous = old then 'unchanged' else 'changed' end;
      if action = 'changed' then
        note := 'imported before and different now; left as it is here';
      end if;
      return next;
      continue;
    end if;

    begin
      new_id := null;
      case source_table
      when 'auth.users' then
        insert into auth.users (id, email, password_hash, created_at)
        values ((old ->> 'id')::uuid, lower(old ->> 'email'), coalesce(nullif(old ->> 'encrypted_password', ''), '!'),
                coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict (id) do nothing
        returning id::text into new_id;
        if coalesce(old ->> 'encrypted_password', '') !~ '^\$2[abxy]\$' then
          note := 'no bcrypt password: this member cannot sign in with a password until an operator sets one';
        end if;
      when 'public.profiles' then
        wanted_callsign := coalesce(
          nullif(btrim(old ->> 'callsign'), ''),
          nullif(btrim((select i.old_row -> 'raw_user_meta_data' ->> 'callsign' from nexus_private.imported_rows i
                         where i.source_table = 'auth.users' and i.source_key = old ->> 'id')), ''),
          nullif(btrim(old ->> 'full_name'), ''),
          split_part(coalesce(old ->> 'email', (select u.email from auth.users u where u.id = (old ->> 'id')::uuid)), '@', 1));
        insert into public.profiles (id, callsign, rank, created_at)
        values ((old ->> 'id')::uuid, nexus_private.import_callsign(wanted_callsign, (old ->> 'id')::uuid),
                coalesce(nexus_private.import_rank(old ->> 'rank'), 'VAGRANT'), coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict (id) do nothing
        returning id::text into new_id;
        if old ->> 'rank' is not null and nexus_private.import_rank(old ->> 'rank') is null then
          note := format('unknown rank %L: imported as VAGRANT', old ->> 'rank');
        end if;
      when 'public.squads' then
        insert into public.squads (id, name, description, created_at)
        values ((old ->> 'id')::uuid, old ->> 'name', old ->> 'description', coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict (id) do nothing
        returning id::text into new_id;
      when 'public.squad_members' then
        insert into public.squad_members (squad_id, user_id, role, joined_at)
        values ((old ->> 'squad_id')::uuid, (old ->> 'user_id')::uuid,
                case when upper(old ->> 'role') in ('LEAD', 'MEMBER') then upper(old ->> 'role') else 'MEMBER' end,
                coalesce((old ->> 'joined_at')::timestamptz, (old ->> 'created_at')::timestamptz, now()))
        on conflict (squad_id, user_id) do nothing
        returning squad_id::text || ':' || user_id::text into new_id;
      when 'public.voice_nets' then
        join_rank := coalesce(nexus_private.import_rank(old ->> 'min_rank_to_join'), 'VAGRANT');
        insert into public.voice_nets (id, name, room_name, description, min_rank_to_join, min_rank_to_rx, min_rank_to_tx,
                                       linked_squad_id, created_at)
        values ((old ->> 'id')::uuid, left(coalesce(nullif(btrim(old ->> 'label'), ''), old ->> 'code'), 64), old ->> 'code',
                old ->> 'description', join_rank,
                greatest(join_rank, coalesce(nexus_private.import_rank(old ->> 'min_rank_to_rx'), join_rank)),
                greatest(join_rank, coalesce(nexus_private.import_rank(old ->> 'min_rank_to_tx'), join_rank)),
                (select s.id from public.squads s where s.id = (old ->> 'linked_squad_id')::uuid),
                coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict (id) do nothing
        returning id::text into new_id;
        if old ->> 'linked_squad_id' is not null and not exists (select 1 from public.squads s where s.id = (old ->> 'linked_squad_id')::uuid) then
          note := 'linked squad not found here: imported without the squad gate';
        end if;
      when 'public.voice_net_bridges' then
        insert into public.voice_net_bridges (id, source_net_id, target_net_id, created_by, created_at)
        values ((old ->> 'id')::uuid, (old ->> 'source_net_id')::uuid, (old ->> 'target_net_id')::uuid,
                (select p.id from public.profiles p where p.id = (old ->> 'created_by')::uuid),
                coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict do nothing
        returning id::text into new_id;
      when 'public.push_subscriptions' then
        insert into public.push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
        -- In its one spelling, as subscribe_push stores it (what is not an endpoint stays as it was, and the
        -- table's own check refuses it).
        values (coalesce((old ->> 'id')::uuid, gen_random_uuid()), (old ->> 'user_id')::uuid,
                coalesce(nexus_private.canonical_push_endpoint(btrim(old ->> 'endpoint')), old ->> 'endpoint'),
                old ->> 'p256dh', old ->> 'auth', coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict do nothing
        returning id::text into new_id;
      when 'public.skills' then
        insert into public.skills (id, name, description, category, created_at)
        values ((old ->> 'id')::uuid, old ->> 'name', old ->> 'description', old ->> 'category',
                coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict (id) do nothing
        returning id::text into new_id;
      when 'public.mentor_certifications' then
        insert into public.mentor_certifications (user_id, skill_id, granted_by, created_at)
        values ((old ->> 'user_id')::uuid, (old ->> 'skill_id')::uuid,
                (select p.id from public.profiles p where p.id = (old ->> 'granted_by')::uuid),
                coalesce((old ->> 'created_at')::timestamptz, now()))
        on conflict (user_id, skill_id) do nothing
        returning user_id::text || ':' || skill_id::text into new_id;
      end case;
      if new_id is null then
        action := 'exists';
        local_id := source_key;
      else
        action := 'insert';
        local_id := new_id;
      end if;
    exception when others then
      -- Not brought over (a constraint here refuses it, or what it points at is missing): kept, with why.
      action := 'kept';
      local_id := '';
      note := sqlerrm;
      local_tbl := 'none';
    end;
    insert into nexus_private.imported_rows (source_table, source_key, local_table, local_id, old_row)
    values (import_supabase_rows.source_table, import_supabase_rows.source_key,
            case when action = 'kept' then 'none' else source_table end, local_id, old);
    return next;
  end loop;
end
$$;
grant execute on function nexus_private.import_supabase_rows(text, jsonb) to service_role;

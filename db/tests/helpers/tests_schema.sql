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

/*
 * Run a statement once as the member of each rank (tests.user_of_rank), lowest rank first, with that rank as $1:
 * `select tests.as_each_rank($$ insert into seen select $1, n.room_name from public.voice_nets n $$)`. Back to
 * the superuser afterwards.
 */
create or replace function tests.as_each_rank(statement text) returns void
language plpgsql as $$
declare
  r public.rank;
begin
  foreach r in array enum_range(null::public.rank) loop
    perform tests.authenticate_as(tests.user_of_rank(r));
    execute statement using r;
    reset role;
  end loop;
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

/* Voice nets (issue #3) ------------------------------------------------------------------------------------ */

/* A voice net with the given gates (as the superuser, like an operator's insert); returns its id. */
create or replace function tests.create_net(
  room text,
  join_rank public.rank default 'VAGRANT',
  rx_rank public.rank default null,
  tx_rank public.rank default null,
  squad uuid default null
) returns uuid
language sql security definer set search_path = pg_catalog, public as $$
  insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx, linked_squad_id)
  values (room, room, join_rank, coalesce(rx_rank, join_rank), coalesce(tx_rank, join_rank), squad)
  returning id
$$;

/* The id of the net with this room name. */
create or replace function tests.net(room text) returns uuid
language sql stable security definer set search_path = pg_catalog, public as $$
  select id from public.voice_nets where room_name = room
$$;

/* A squad with the given name and members (the first one its LEAD); returns its id. */
create or replace function tests.create_squad(squad_name text, members uuid[] default '{}') returns uuid
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  new_id uuid;
begin
  insert into public.squads (name) values (squad_name) returning id into new_id;
  insert into public.squad_members (squad_id, user_id, role)
  select new_id, m.user_id, case when m.ord = 1 then 'LEAD' else 'MEMBER' end
    from unnest(members) with ordinality as m(user_id, ord);
  return new_id;
end
$$;

grant execute on all functions in schema tests to public;

/*
 * A graphile-worker job in a given state, for the job queue monitoring tests: 'queued' (due now), 'scheduled'
 * (due later), 'locked' (a worker is running it) or 'exhausted' (a dead letter: attempts = max_attempts).
 */
create or replace function tests.add_job(task text, state text default 'queued', error text default 'Error: boom')
returns bigint
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  job_id bigint;
begin
  select j.id into job_id from graphile_worker.add_job(task, json_build_object('test', state), max_attempts => 3) j;
  update graphile_worker._private_jobs j set
    run_at = case when state = 'scheduled' then now() + interval '1 hour' else j.run_at end,
    locked_at = case when state = 'locked' then now() end,
    locked_by = case when state = 'locked' then 'tests-worker' end,
    attempts = case state when 'locked' then 1 when 'exhausted' then j.max_attempts else 0 end,
    last_error = case when state = 'exhausted' then error end
  where j.id = job_id;
  return job_id;
end
$$;
grant execute on function tests.add_job(text, text, text) to public;

/* Claim the next job of a task the way a graphile-worker does (available, due, by priority then run_at). */
create or replace function tests.claim_next_job(task text) returns bigint
language sql security definer set search_path = pg_catalog, public as $$
  update graphile_worker._private_jobs j
     set locked_at = now(), locked_by = 'tests-worker', attempts = j.attempts + 1
   where j.id = (
     select c.id from graphile_worker._private_jobs c
      where c.task_id = (select t.id from graphile_worker._private_tasks t where t.identifier = task)
        and c.is_available and c.run_at <= now()
      order by c.priority, c.run_at, c.id
      limit 1
      for update skip locked)
  returning j.id
$$;
grant execute on function tests.claim_next_job(text) to public;

/* Record a running job's failure the way a graphile-worker does (unlocked, last_error set, due again later). */
create or replace function tests.fail_job(job_id bigint, error text) returns void
language sql security definer set search_path = pg_catalog, public as $$
  update graphile_worker._private_jobs j
     set locked_at = null, locked_by = null, last_error = error, run_at = now() + interval '2 seconds'
   where j.id = job_id
$$;
grant execute on function tests.fail_job(bigint, text) to public;

/* Web Push (issue #5) ------------------------------------------------------------------------------------- */

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

/* Academy (issue #6) --------------------------------------------------------------------------------------- */

/* The id of the member with this callsign (made with tests.create_user). */
create or replace function tests.member(member_callsign text) returns uuid
language sql stable security definer set search_path = pg_catalog, public as $$
  select id from public.profiles where callsign = member_callsign
$$;

/* A skill, added as an operator would (the runbook's insert); returns its id. */
create or replace function tests.create_skill(skill_name text) returns uuid
language sql security definer set search_path = pg_catalog, public as $$
  insert into public.skills (name) values (skill_name) returning id
$$;

/* The id of the skill with this name. */
create or replace function tests.skill(skill_name text) returns uuid
language sql stable security definer set search_path = pg_catalog, public as $$
  select id from public.skills where name = skill_name
$$;

/* Certify a member to mentor a skill, as an operator would (the runbook's insert). */
create or replace function tests.certify(member uuid, skill uuid) returns void
language sql security definer set search_path = pg_catalog, public as $$
  insert into public.mentor_certifications (user_id, skill_id) values (member, skill)
$$;

/* A PENDING training request of a cadet for a skill, made as that cadet would (request_training); returns its id. */
create or replace function tests.request_training(cadet uuid, skill uuid) returns uuid
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  claims text := current_setting('request.jwt.claims', true);
  new_id uuid;
begin
  perform set_config('request.jwt.claims', json_build_object('sub', cadet, 'role', 'authenticated')::text, true);
  select r.id into new_id from public.request_training(skill) r;
  perform set_config('request.jwt.claims', coalesce(claims, ''), true);
  return new_id;
end
$$;

grant execute on all functions in schema tests to public;

/* Rate limits (issue #7) ------------------------------------------------------------------------------------- */

/* Run a statement as the caller and return what the error it raises carries (no row if it raises none). */
create or replace function tests.raised(statement text) returns table (detail text, hint text)
language plpgsql as $$
begin
  execute statement;
exception when others then
  get stacked diagnostics detail = pg_exception_detail, hint = pg_exception_hint;
  return next;
end
$$;
grant execute on function tests.raised(text) to public;

/* The HINT of the error a statement raises (null if it raises none). */
create or replace function tests.error_hint(statement text) returns text
language sql as $$ select hint from tests.raised(statement) $$;
grant execute on function tests.error_hint(text) to public;

/* Caller helpers (require_member, require_rank) -------------------------------------------------------------- */

/* The DETAIL of the error a statement raises (null if it raises none): the sentence a caller reads. */
create or replace function tests.error_detail(statement text) returns text
language sql as $$ select detail from tests.raised(statement) $$;
grant execute on function tests.error_detail(text) to public;

/* Live voice rights (issue #13) ----------------------------------------------------------------------------- */

/*
 * The voice_rights__apply jobs waiting, one row per subject in each: its key, the subject its changes name
 * (member:<id>, net:<id> or sim_pod:<id>), how many of the job's changes name it, and when the job runs.
 */
create or replace view tests.voice_rights_jobs as
  select j.key, s.subject, count(*)::int as changes, j.run_at
    from graphile_worker._private_jobs j
    join graphile_worker._private_tasks t on t.id = j.task_id
   cross join lateral json_array_elements(j.payload) e
   cross join lateral (select coalesce('member:' || (e ->> 'member'), 'net:' || (e ->> 'net'), 'sim_pod:' || (e ->> 'simPod')) as subject) s
   where t.identifier = 'voice_rights__apply'
   group by j.id, j.key, s.subject, j.run_at;
grant select on tests.voice_rights_jobs to public;

/*
 * Forget the voice_rights__apply jobs so far, so the next assertion sees only what the next change enqueues; and
 * start the next 256 changes (nexus_private.voice_rights_job_key renews members' keys every 256), so the changes of
 * an assertion about coalescing are not split by a renewal.
 */
create or replace function tests.reset_voice_rights_jobs() returns void
language sql as $$
  delete from graphile_worker._private_jobs j
   using graphile_worker._private_tasks t where t.id = j.task_id and t.identifier = 'voice_rights__apply';
  select setval(pg_catalog.pg_get_serial_sequence('nexus_private.voice_rights_changes', 'id'),
                (nextval(pg_catalog.pg_get_serial_sequence('nexus_private.voice_rights_changes', 'id')) / 256 + 1) * 256 - 1);
$$;

/*
 * A participant joining a LiveKit room, as LiveKit's participant_joined webhook reports it (with the rights
 * their token gave: hear, and speak unless can_publish is false); returns the presence id.
 */
create or replace function tests.join_room(room text, identity text, sid text, metadata jsonb default '{}', can_publish boolean default true)
returns uuid language plpgsql as $$
begin
  perform nexus_private.apply_livekit_event(jsonb_build_object(
    'id', 'ev-' || sid, 'event', 'participant_joined', 'room', room, 'createdAt', extract(epoch from now()),
    'participant', jsonb_build_object('identity', identity, 'sid', sid, 'metadata', metadata::text,
      'permission', jsonb_build_object('canSubscribe', true, 'canPublish', can_publish, 'canPublishData', can_publish))));
  return (select p.id from public.voice_presence p where p.participant_sid = sid);
end
$$;
grant execute on function tests.reset_voice_rights_jobs(), tests.join_room(text, text, text, jsonb, boolean) to public;

/* Races (two sessions through dblink) ----------------------------------------------------------------------- */

/* A connection string back to this database as this user, for the dblink sessions that play the racing sides. */
create or replace function tests.this_database() returns text
language sql stable as $$
  select format('host=127.0.0.1 port=%s dbname=%s user=%s', current_setting('port'), current_database(), current_user)
$$;

/*
 * Wait (up to 10 s) until another session running a statement that contains `seen` is waiting on a lock: the
 * race is then real, not hoped for. pg_stat_activity is read once per transaction and then cached, so each look
 * drops that snapshot.
 */
create or replace function tests.wait_for_lock_wait(seen text) returns boolean
language plpgsql as $$
begin
  for i in 1 .. 1000 loop
    perform pg_stat_clear_snapshot();
    if exists (select 1 from pg_stat_activity a
                where a.wait_event_type = 'Lock' and strpos(a.query, seen) > 0 and a.pid <> pg_backend_pid()) then
      return true;
    end if;
    perform pg_sleep(0.01);
  end loop;
  return false;
end
$$;
grant execute on function tests.this_database(), tests.wait_for_lock_wait(text) to public;

/* Rescue flares ------------------------------------------------------------------------------------------ */

/* A member's rescue flare, fired as that member would (fire_rescue_flare); returns its id. */
create or replace function tests.fire_flare(member uuid, location text, kind public.flare_type default 'MEDICAL') returns uuid
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  claims text := current_setting('request.jwt.claims', true);
  new_id uuid;
begin
  perform set_config('request.jwt.claims', json_build_object('sub', member, 'role', 'authenticated')::text, true);
  select f.id into new_id from public.fire_rescue_flare(location, kind) f;
  perform set_config('request.jwt.claims', coalesce(claims, ''), true);
  return new_id;
end
$$;
grant execute on function tests.fire_flare(uuid, text, public.flare_type) to public;

/* Forbidden paths (policies by rank) ------------------------------------------------------------------------ */

/*
 * What a write does for the caller: '<n> rows' (how many it touched; RLS hides a forbidden row, so 0) or
 * 'refused <SQLSTATE>'. For tests.as_each_rank: `insert into outcomes select $1, tests.affected(format(…, $1))`.
 */
create or replace function tests.affected(statement text) returns text
language plpgsql as $$
declare
  n bigint;
begin
  execute statement;
  get diagnostics n = row_count;
  return n || ' rows';
exception when others then
  return 'refused ' || sqlstate;
end
$$;
grant execute on function tests.affected(text) to public;

/*
 * What a rank-gated write should give each rank, lowest first: `refused` below `minimum`, `allowed` from it up.
 * The other side of a results_eq over what tests.as_each_rank recorded:
 * `results_eq($$ select rank, outcome from outcomes order by 1 $$, $$ select * from tests.by_rank('FOUNDER', '0 rows', '1 rows') $$)`.
 */
create or replace function tests.by_rank(minimum public.rank, refused text, allowed text)
returns table (rank public.rank, outcome text)
language sql immutable as $$
  select r, case when r >= minimum then allowed else refused end from unnest(enum_range(null::public.rank)) r
$$;
grant execute on function tests.by_rank(public.rank, text, text) to public;

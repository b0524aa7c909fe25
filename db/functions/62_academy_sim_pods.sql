/*
 * Sim pods (DESIGN.md §3): a certified mentor, not the cadet, accepts a PENDING request, which makes the pod and
 * pages the cadet; the pod's cadet and mentor, and nobody else, get tokens for its room until it expires.
 * These functions decide; the server signs the LiveKit token from exactly the row they return
 * (server/academy/tokens.ts), so they are hidden from GraphQL, where acceptTraining and joinSimPod wrap them.
 */

/* How long a sim pod hands out tokens after it is made. */
create or replace function nexus_private.sim_pod_lifetime() returns interval
language sql immutable parallel safe as $$ select interval '2 hours' $$;

/*
 * What a member may do in a pod's room, for the token: both speak and listen; the mentor also administers that
 * one room (the type public.sim_pod_grant). No row for anyone but the pod's cadet and mentor.
 */
create or replace function nexus_private.sim_pod_grant(pod_id text, member uuid)
returns setof public.sim_pod_grant
language sql stable security definer set search_path = pg_catalog, public as $$
  select p.id, p.request_id, p.room_name, p.expires_at,
         case when m.id = r.mentor_id then 'MENTOR' else 'CADET' end,
         m.id, m.callsign, m.rank,
         true, true, m.id = r.mentor_id
    from public.sim_pods p
    join public.academy_requests r on r.id = p.request_id
    join public.profiles m on m.id = sim_pod_grant.member
   where p.id = sim_pod_grant.pod_id
     and m.id in (r.cadet_id, r.mentor_id)
$$;

/*
 * Whether a pod still hands out tokens: not expired and its training still ACCEPTED (completing or cancelling
 * it also moves expires_at to that moment). join_sim_pod() refuses a closed pod; the live rights job removes
 * whoever is still in a closed pod's room.
 */
create or replace function nexus_private.sim_pod_open(pod_id text) returns boolean
language sql stable security definer set search_path = pg_catalog, public as $$
  select coalesce((
    select p.expires_at > now() and r.status = 'ACCEPTED'
      from public.sim_pods p join public.academy_requests r on r.id = p.request_id
     where p.id = pod_id), false)
$$;

/* What a member connected to a pod's room may do now: the pod's grant while the pod is open, else nothing. */
create or replace function nexus_private.sim_pod_presence_clearance(pod_id text, member uuid)
returns table (can_join boolean, can_rx boolean, can_tx boolean)
language sql stable security definer set search_path = pg_catalog, public as $$
  select coalesce(bool_or(true), false), coalesce(bool_or(g.can_subscribe), false), coalesce(bool_or(g.can_publish), false)
    from public.sim_pods p
    cross join lateral nexus_private.sim_pod_grant(p.id, member) g
   where p.id = pod_id and nexus_private.sim_pod_open(p.id)
$$;

/*
 * Accept a PENDING training request: a mentor certified for the skill who is not the cadet. The decision is one
 * update guarded by status = 'PENDING': of two mentors racing, the second one's update waits on the first one's
 * row lock, then finds the request ACCEPTED and changes nothing, so exactly one wins and the other gets CONFLICT.
 * The winner's transaction makes the sim pod, pages the cadet (SIM_POD_READY, delivered by the push__deliver
 * job) and returns the mentor's own grant. The cadet's token is not made here: the cadet asks with joinSimPod.
 */
create or replace function public.accept_training(request_id uuid)
returns setof public.sim_pod_grant
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('accept a training request');
  request public.academy_requests;
  pod public.sim_pods;
  new_pod_id text;
begin
  -- The mentor's LiveKit token for the pod comes from their bucket (RATE_LIMITED when empty).
  perform nexus_private.charge_rate_limit(caller, 'livekit_token', 1);
  select * into request from public.academy_requests r where r.id = accept_training.request_id;
  if request.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such training request');
  end if;
  if request.cadet_id = caller then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'you cannot accept your own training request');
  end if;
  -- The certification is locked (key share) until this accept commits: a revocation running at the same time
  -- waits for it and then cancels the training it made (end_trainings_of_withdrawn_mentor), or, if it deleted
  -- first, this accept finds no certification.
  perform 1 from public.mentor_certifications c
   where c.user_id = caller and c.skill_id = request.skill_id
     for key share;
  if not found then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', format('only a mentor certified for %s may accept this request',
      (select s.name from public.skills s where s.id = request.skill_id)));
  end if;
  if request.status <> 'PENDING' then
    perform nexus_private.fail('CONFLICT', case
      when request.mentor_id = caller and request.status = 'ACCEPTED' then 'you already accepted this request; join its sim pod with joinSimPod'
      else format('this request is already %s', request.status) end);
  end if;

  update public.academy_requests r set status = 'ACCEPTED', mentor_id = caller, accepted_at = now()
   where r.id = request.id and r.status = 'PENDING'
  returning * into request;
  if request.id is null then
    perform nexus_private.fail('CONFLICT', 'another mentor accepted this request first');
  end if;

  new_pod_id := 'sim-pod-' || replace(gen_random_uuid()::text, '-', '');
  insert into public.sim_pods (id, room_name, request_id, expires_at)
  values (new_pod_id, new_pod_id, request.id, now() + nexus_private.sim_pod_lifetime())
  returning * into pod;
  update public.academy_requests r set sim_pod_id = pod.id where r.id = request.id
  returning * into request;

  perform nexus_private.enqueue_push(request.cadet_id, 'SIM_POD_READY',
    nexus_private.academy_payload(request, 'SIM_POD_READY'), 'sim-pod-ready:' || pod.id);
  perform nexus_private.audit('academy_request.accepted',
    jsonb_build_object('request_id', request.id, 'sim_pod_id', pod.id, 'skill_id', request.skill_id));
  return query select * from nexus_private.sim_pod_grant(pod.id, caller);
end
$$;
comment on function public.accept_training(uuid) is
  E'@behavior -mutationField\nAccept a PENDING training request as a certified mentor (not the cadet); one mentor wins, others CONFLICT. Makes the sim pod and pages the cadet; returns the mentor''s grant for the pod''s room. GraphQL: acceptTraining.';
grant execute on function public.accept_training(uuid) to authenticated;

/*
 * A member's grant for a sim pod's room: its cadet or its mentor; anyone else INSUFFICIENT_CLEARANCE. A pod
 * that is unknown, expired, or whose training is over is NOT_FOUND.
 */
create or replace function public.join_sim_pod(sim_pod_id text)
returns setof public.sim_pod_grant
language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('join a sim pod');
  pod public.sim_pods;
  request public.academy_requests;
begin
  perform nexus_private.charge_rate_limit(caller, 'livekit_token', 1);
  select * into pod from public.sim_pods p where p.id = join_sim_pod.sim_pod_id;
  if pod.id is null or pod.expires_at <= now() then
    perform nexus_private.fail('NOT_FOUND', format('no open sim pod %s (it may have expired)', join_sim_pod.sim_pod_id));
  end if;
  select * into request from public.academy_requests r where r.id = pod.request_id;
  if caller is distinct from request.cadet_id and caller is distinct from request.mentor_id then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only the cadet and the mentor of a sim pod may join it');
  end if;
  if not nexus_private.sim_pod_open(pod.id) then
    perform nexus_private.fail('NOT_FOUND', format('sim pod %s is closed: its training is %s', pod.id, request.status));
  end if;
  return query select * from nexus_private.sim_pod_grant(pod.id, caller);
end
$$;
comment on function public.join_sim_pod(text) is
  E'@behavior -queryField\nYour grant for a sim pod''s room, as its cadet or mentor. Expired or closed pods are NOT_FOUND. GraphQL: joinSimPod.';
grant execute on function public.join_sim_pod(text) to authenticated;

/*
 * Training requests (DESIGN.md §3): any member asks to be taught a skill (one open request per skill); the cadet
 * cancels while PENDING or ACCEPTED; the mentor who accepted completes, optionally certifying the cadet.
 * Accepting, which makes the sim pod, is in 62_academy_sim_pods.sql.
 */

/*
 * What a device shows for an academy event (DESIGN.md §4): the type, the request and its sim pod, the skill,
 * who is involved, plus a ready-made title and body for the service worker's showNotification(). Never a token:
 * the cadet asks for their own with joinSimPod.
 */
create or replace function nexus_private.academy_payload(request public.academy_requests, type text) returns jsonb
language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
  skill text := (select s.name from public.skills s where s.id = request.skill_id);
  cadet text := (select p.callsign from public.profiles p where p.id = request.cadet_id);
  mentor text := (select p.callsign from public.profiles p where p.id = request.mentor_id);
  pod public.sim_pods;
begin
  select * into pod from public.sim_pods s where s.id = request.sim_pod_id;
  return jsonb_build_object(
    'type', type,
    'requestId', request.id,
    'status', request.status,
    'skillId', request.skill_id,
    'skillName', skill,
    'cadetId', request.cadet_id,
    'cadetCallsign', cadet,
    'mentorId', request.mentor_id,
    'mentorCallsign', mentor,
    'simPodId', pod.id,
    'roomName', pod.room_name,
    'expiresAt', pod.expires_at,
    'tag', 'academy-' || request.id,
    'title', case type
      when 'SIM_POD_READY' then 'Your mentor is ready'
      when 'TRAINING_CANCELLED' then 'Training called off'
      when 'MENTOR_WITHDRAWN' then 'Your mentor was withdrawn'
      else type end,
    'body', case type
      when 'SIM_POD_READY' then format('%s is waiting for you in a sim pod to teach %s', mentor, skill)
      when 'TRAINING_CANCELLED' then format('%s called off their %s training', cadet, skill)
      when 'MENTOR_WITHDRAWN' then format('%s may no longer teach %s, so this training is off; ask again for another mentor', mentor, skill)
      else skill end
  );
end
$$;

/* Ask to be taught a skill. Any member; one open (PENDING or ACCEPTED) request per skill; at most 20 a day. */
create or replace function public.request_training(skill_id uuid) returns public.academy_requests
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('request training');
  per_day integer := nexus_private.rate_limit_setting('academy_requests_per_day', 20);
  recent integer;
  oldest timestamptz;
  wait integer;
  open_request public.academy_requests;
  request public.academy_requests;
begin
  if request_training.skill_id is null then
    perform nexus_private.fail('BAD_REQUEST', 'name the skill to learn (skillId)');
  end if;
  -- At most nexus.academy_requests_per_day (20) a day per cadet, cancelled ones included: every request stays on
  -- record (and in the audit log), so asking and cancelling in a loop would grow both without end. The cadet's
  -- requests take turns here, so parallel ones cannot all read the same count.
  perform pg_advisory_xact_lock(hashtextextended('nexus.academy_request:' || caller, 0));
  select count(*), min(r.created_at) into recent, oldest from public.academy_requests r
   where r.cadet_id = caller and r.created_at > now() - interval '1 day';
  if recent >= per_day then
    wait := nexus_private.seconds_until(oldest + interval '1 day');
    perform nexus_private.fail_rate_limited(format('at most %s training requests a day; try again in %s seconds', per_day, wait), wait);
  end if;
  if not exists (select 1 from public.skills s where s.id = request_training.skill_id) then
    perform nexus_private.fail('NOT_FOUND', format('no skill %s', request_training.skill_id));
  end if;
  select * into open_request from public.academy_requests r
   where r.cadet_id = caller and r.skill_id = request_training.skill_id and r.status in ('PENDING', 'ACCEPTED');
  if open_request.id is not null then
    perform nexus_private.fail('CONFLICT', format(
      'you already have an open request for this skill (%s, %s); cancel it before asking again', open_request.id, open_request.status));
  end if;
  begin
    insert into public.academy_requests (cadet_id, skill_id) values (caller, request_training.skill_id)
    returning * into request;
  exception when unique_violation then
    -- a second tap raced the check above
    perform nexus_private.fail('CONFLICT', 'you already have an open request for this skill');
  end;
  perform nexus_private.audit('academy_request.requested', jsonb_build_object('request_id', request.id, 'skill_id', request.skill_id));
  return request;
end
$$;
comment on function public.request_training(uuid) is
  E'@resultFieldName academyRequest\nAsk to be taught a skill: the request waits (PENDING) for a certified mentor. Any member; one open request per skill, at most 20 requests a day (nexus.academy_requests_per_day).';
grant execute on function public.request_training(uuid) to authenticated;

/*
 * The cadet calls their training off, while PENDING or ACCEPTED. The sim pod closes at once and the mentor, if
 * one had accepted, is paged. Cancelling again changes nothing.
 */
create or replace function public.cancel_training(request_id uuid) returns public.academy_requests
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := auth.uid();
  request public.academy_requests;
begin
  if not auth.is_service() then
    perform nexus_private.require_member('cancel training');
  end if;
  select * into request from public.academy_requests r where r.id = cancel_training.request_id for update;
  if request.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such training request');
  end if;
  if request.cadet_id is distinct from caller and not auth.is_service() then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only the cadet who asked may cancel a training request');
  end if;
  if request.status = 'CANCELLED' then
    return request;
  end if;
  if request.status not in ('PENDING', 'ACCEPTED') then
    perform nexus_private.fail('CONFLICT', format('this training is already %s', request.status));
  end if;

  update public.academy_requests r set status = 'CANCELLED', cancelled_at = now()
   where r.id = request.id
  returning * into request;
  update public.sim_pods p set expires_at = least(p.expires_at, now()) where p.id = request.sim_pod_id;

  if request.mentor_id is not null then
    perform nexus_private.enqueue_push(request.mentor_id, 'TRAINING_CANCELLED',
      nexus_private.academy_payload(request, 'TRAINING_CANCELLED'), 'training-cancelled:' || request.id);
  end if;
  perform nexus_private.audit('academy_request.cancelled', jsonb_build_object('request_id', request.id));
  return request;
end
$$;
comment on function public.cancel_training(uuid) is
  E'@resultFieldName academyRequest\nCall off your training request while it is PENDING or ACCEPTED. Its sim pod closes; the mentor, if any, is told.';
grant execute on function public.cancel_training(uuid) to authenticated, service_role;

/*
 * The mentor signs a training off: ACCEPTED becomes COMPLETED and the sim pod closes. With certify, the cadet is
 * certified to mentor the skill in the same transaction, which needs the certification rule (FOUNDER+, or a
 * VOYAGER+ mentor of the skill); asking to certify without it is INSUFFICIENT_CLEARANCE and completes nothing.
 */
create or replace function public.complete_training(request_id uuid, certify boolean default false)
returns public.academy_requests
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  caller uuid := nexus_private.require_member('complete a training');
  request public.academy_requests;
  certified boolean := false;
begin
  select * into request from public.academy_requests r where r.id = complete_training.request_id;
  if request.id is null then
    perform nexus_private.fail('NOT_FOUND', 'no such training request');
  end if;
  if request.mentor_id is distinct from caller then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', 'only the mentor who accepted a training may complete it');
  end if;
  if coalesce(complete_training.certify, false) then
    perform nexus_private.require_may_certify(request.skill_id);
  end if;

  -- Guarded like the accept: a cancel that committed first wins, and this one is a CONFLICT.
  update public.academy_requests r set status = 'COMPLETED', completed_at = now()
   where r.id = request.id and r.status = 'ACCEPTED' and r.mentor_id = caller
  returning * into request;
  if request.id is null then
    select * into request from public.academy_requests r where r.id = complete_training.request_id;
    perform nexus_private.fail('CONFLICT', format('only an ACCEPTED training can be completed; this one is %s', request.status));
  end if;
  update public.sim_pods p set expires_at = least(p.expires_at, now()) where p.id = request.sim_pod_id;

  if coalesce(complete_training.certify, false) then
    insert into public.mentor_certifications (user_id, skill_id, granted_by)
    values (request.cadet_id, request.skill_id, caller)
    on conflict on constraint mentor_certifications_pkey do nothing;
    certified := true;
  end if;
  perform nexus_private.audit('academy_request.completed',
    jsonb_build_object('request_id', request.id, 'certified', certified));
  return request;
end
$$;
comment on function public.complete_training(uuid, boolean) is
  E'@resultFieldName academyRequest\nSign off an ACCEPTED training you mentor: it becomes COMPLETED and its sim pod closes. certify: also certify the cadet to mentor the skill (needs FOUNDER+, or VOYAGER+ as a mentor of it).';
grant execute on function public.complete_training(uuid, boolean) to authenticated;

/*
 * A mentor whose certification in a skill is withdrawn stops teaching it at once: every training of that skill
 * they hold (ACCEPTED) is CANCELLED in the revoking transaction, its sim pod closes (expires_at = now, so the
 * live rights job removes both from the room and joinSimPod refuses), and the cadet is paged (MENTOR_WITHDRAWN)
 * and may ask again, for another mentor. Not back to PENDING: a pod belongs to one request and one mentor, and
 * what the withdrawn mentor already taught is not vouched for. A trigger, like the audit one, so an operator's
 * `delete from mentor_certifications` (or a skill or member deleted) ends the trainings too. The mentor can then
 * neither join (the pod is closed) nor complete (the training is CANCELLED), and so never certify the cadet.
 */
create or replace function nexus_private.end_trainings_of_withdrawn_mentor() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  request public.academy_requests;
begin
  if tg_op = 'UPDATE' and (new.user_id, new.skill_id) = (old.user_id, old.skill_id) then
    return null;
  end if;
  for request in
    update public.academy_requests r set status = 'CANCELLED', cancelled_at = now()
     where r.mentor_id = old.user_id and r.skill_id = old.skill_id and r.status = 'ACCEPTED'
    returning r.*
  loop
    update public.sim_pods p set expires_at = least(p.expires_at, now()) where p.id = request.sim_pod_id;
    perform nexus_private.enqueue_push(request.cadet_id, 'MENTOR_WITHDRAWN',
      nexus_private.academy_payload(request, 'MENTOR_WITHDRAWN'), 'mentor-withdrawn:' || request.id);
    perform nexus_private.audit('academy_request.cancelled', jsonb_build_object(
      'request_id', request.id, 'reason', 'mentor_certification_revoked', 'mentor_id', old.user_id));
  end loop;
  return null;
end
$$;

create or replace trigger mentor_certifications_end_trainings
  after delete or update of user_id, skill_id on public.mentor_certifications
  for each row execute function nexus_private.end_trainings_of_withdrawn_mentor();

/* The PENDING requests the caller could accept: in skills they mentor, not their own; oldest first. */
create or replace function public.open_training_requests() returns setof public.academy_requests
language sql stable security definer set search_path = pg_catalog, public as $$
  select r.* from public.academy_requests r
    join public.mentor_certifications c on c.skill_id = r.skill_id and c.user_id = auth.uid()
   where r.status = 'PENDING' and r.cadet_id <> auth.uid()
   order by r.created_at, r.id
$$;
comment on function public.open_training_requests() is
  E'Training requests waiting for a mentor in the skills you mentor (never your own), oldest first.';
grant execute on function public.open_training_requests() to authenticated;

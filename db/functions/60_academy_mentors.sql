/*
 * Academy mentors (DESIGN.md §3): who may teach a skill, and who may say so. A certification is granted by a
 * FOUNDER+ member, or by a mentor of that same skill who is VOYAGER+; FOUNDER+ revoke. Every grant and revocation
 * is audited by a trigger, so an operator's insert in the SQL editor is on the trail too.
 */

/*
 * Whether the caller is certified to mentor the skill. Security definer, stable, fixed search_path: the
 * policies on academy_requests call it, and it reads the caller's certifications however RLS would show them.
 */
create or replace function public.is_mentor_of(skill_id uuid) returns boolean
language sql stable security definer parallel safe set search_path = pg_catalog, public as $$
  select exists (
    select 1 from public.mentor_certifications c where c.user_id = auth.uid() and c.skill_id = is_mentor_of.skill_id)
$$;
comment on function public.is_mentor_of(uuid) is E'@behavior -queryField\nWhether the caller is certified to mentor the skill.';
grant execute on function public.is_mentor_of(uuid) to anon, authenticated, service_role;

/* The certification rule: FOUNDER+, or VOYAGER+ and a mentor of the skill. service_role always. */
create or replace function nexus_private.may_certify(skill_id uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, public as $$
  select auth.is_service()
      or coalesce(auth.rank() >= 'FOUNDER', false)
      or (coalesce(auth.rank() >= 'VOYAGER', false) and public.is_mentor_of(may_certify.skill_id))
$$;
grant execute on function nexus_private.may_certify(uuid) to authenticated, service_role;

/* Refuse, with the reason in a person's words, when the caller may not certify mentors of this skill. */
create or replace function nexus_private.require_may_certify(skill_id uuid) returns void
language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  if auth.is_service() then
    return;
  end if;
  perform nexus_private.require_member('certify mentors');
  if not nexus_private.may_certify(skill_id) then
    perform nexus_private.fail('INSUFFICIENT_CLEARANCE', case
      when auth.rank() < 'VOYAGER' then
        format('certifying mentors needs rank FOUNDER, or VOYAGER and a certification in the skill; you are %s', auth.rank())
      else 'certifying mentors of a skill needs rank FOUNDER, or a certification in that skill yourself'
    end);
  end if;
end
$$;
grant execute on function nexus_private.require_may_certify(uuid) to authenticated, service_role;

/*
 * The audit trail of certifications. A trigger rather than a line in each function: operators insert rows by
 * hand (the runbook's SQL-editor habit), and those must be on the trail as well. db_user tells an operator's
 * session (e.g. postgres) from the API's (nexus_authenticator).
 */
create or replace function nexus_private.audit_mentor_certification() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    perform nexus_private.audit('mentor_certification.granted', jsonb_build_object(
      'user_id', new.user_id, 'skill_id', new.skill_id, 'granted_by', new.granted_by, 'db_user', session_user));
    return new;
  end if;
  perform nexus_private.audit('mentor_certification.revoked', jsonb_build_object(
    'user_id', old.user_id, 'skill_id', old.skill_id, 'granted_by', old.granted_by, 'db_user', session_user));
  return old;
end
$$;

create or replace trigger mentor_certifications_audit
  after insert or delete on public.mentor_certifications
  for each row execute function nexus_private.audit_mentor_certification();

/* Certify a member to mentor a skill. FOUNDER+, or a VOYAGER+ mentor of the skill. Already certified: CONFLICT. */
create or replace function public.certify_mentor(user_id uuid, skill_id uuid) returns public.mentor_certifications
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  granted public.mentor_certifications;
begin
  perform nexus_private.require_may_certify(certify_mentor.skill_id);
  if certify_mentor.user_id is null or certify_mentor.skill_id is null then
    perform nexus_private.fail('BAD_REQUEST', 'name the member (userId) and the skill (skillId)');
  end if;
  if not exists (select 1 from public.skills s where s.id = certify_mentor.skill_id) then
    perform nexus_private.fail('NOT_FOUND', format('no skill %s', certify_mentor.skill_id));
  end if;
  if not exists (select 1 from public.profiles p where p.id = certify_mentor.user_id) then
    perform nexus_private.fail('NOT_FOUND', format('no member %s', certify_mentor.user_id));
  end if;
  insert into public.mentor_certifications as c (user_id, skill_id, granted_by)
  values (certify_mentor.user_id, certify_mentor.skill_id, auth.uid())
  on conflict on constraint mentor_certifications_pkey do nothing
  returning * into granted;
  if granted.user_id is null then
    perform nexus_private.fail('CONFLICT', 'this member is already certified to mentor this skill');
  end if;
  return granted;
end
$$;
comment on function public.certify_mentor(uuid, uuid) is
  E'@resultFieldName mentorCertification\nCertify a member to mentor a skill: FOUNDER+, or a VOYAGER+ mentor of that skill. Audited.';
grant execute on function public.certify_mentor(uuid, uuid) to authenticated, service_role;

/*
 * Withdraw a certification (FOUNDER+). The removed row, or null when there was none. The trainings of that skill
 * the mentor holds end with it (nexus_private.end_trainings_of_withdrawn_mentor, 61_academy_requests.sql).
 */
create or replace function public.revoke_mentor_certification(user_id uuid, skill_id uuid) returns public.mentor_certifications
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  removed public.mentor_certifications;
begin
  perform nexus_private.require_rank('FOUNDER', 'revoke mentor certifications');
  delete from public.mentor_certifications c
   where c.user_id = revoke_mentor_certification.user_id and c.skill_id = revoke_mentor_certification.skill_id
  returning * into removed;
  if removed.user_id is null then
    return null;
  end if;
  return removed;
end
$$;
comment on function public.revoke_mentor_certification(uuid, uuid) is
  E'@resultFieldName mentorCertification\nWithdraw a member''s certification to mentor a skill (FOUNDER+); null when there was none. Audited. Their ACCEPTED trainings of that skill are cancelled at once (sim pod closed, cadet paged MENTOR_WITHDRAWN).';
grant execute on function public.revoke_mentor_certification(uuid, uuid) to authenticated, service_role;

-- migrate:up
/*
 * Mentor certifications: who may teach which skill. A member certified for a skill may accept cadets'
 * training requests in it and run their sim pods. "Mentor" is an academy role, not a rank: a SCOUT can mentor
 * mining while a FOUNDER cannot.
 *
 * Granted by FOUNDER+ or by a VOYAGER+ mentor of that same skill (public.certify_mentor, or a mentor completing
 * a cadet's training with certify), revoked by FOUNDER+ (public.revoke_mentor_certification); operators also
 * insert rows directly (`insert into public.mentor_certifications (user_id, skill_id) values (…)`). Every grant
 * and revocation, whichever way it happens, is written to nexus_private.audit_log by a trigger
 * (db/functions/60_academy_mentors.sql). Every member reads who mentors what, so the app can show it.
 */
create table public.mentor_certifications (
  user_id uuid not null references public.profiles (id) on delete cascade,
  skill_id uuid not null references public.skills (id) on delete cascade,
  granted_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (user_id, skill_id)
);
alter table public.mentor_certifications enable row level security;
-- "Mentors of this skill": the academy_requests policy and the open requests list.
create index mentor_certifications_skill_id_idx on public.mentor_certifications (skill_id);
create index mentor_certifications_granted_by_idx on public.mentor_certifications (granted_by);

comment on table public.mentor_certifications is
  E'@behavior -insert -update -delete\nWho may mentor which skill. Granted with certifyMentor (FOUNDER+, or a VOYAGER+ mentor of the skill), revoked with revokeMentorCertification (FOUNDER+).';
comment on constraint mentor_certifications_user_id_fkey on public.mentor_certifications is E'@fieldName mentor';
comment on constraint mentor_certifications_granted_by_fkey on public.mentor_certifications is
  E'@fieldName grantedByMember\n@backwardBehavior -*';
comment on column public.mentor_certifications.granted_by is 'Who certified the mentor; null when an operator inserted the row.';

-- Members only read; grants go through the security definer functions, which check who may certify.
grant select on public.mentor_certifications to authenticated;
grant select, insert, update, delete on public.mentor_certifications to service_role;

-- migrate:down
-- These return the table's row type (db/functions/60_academy_mentors.sql), so they go first.
drop function if exists public.certify_mentor(uuid, uuid);
drop function if exists public.revoke_mentor_certification(uuid, uuid);
drop table if exists public.mentor_certifications;
drop function if exists nexus_private.audit_mentor_certification();
drop function if exists nexus_private.require_may_certify(uuid);
drop function if exists nexus_private.may_certify(uuid);
drop function if exists public.is_mentor_of(uuid);

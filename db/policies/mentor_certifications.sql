-- Every member sees who mentors what (to know whom to ask). Grants and revocations go through certify_mentor and
-- revoke_mentor_certification only: members hold no write grant on the table.
drop policy if exists mentor_certifications_select_members on public.mentor_certifications;
create policy mentor_certifications_select_members on public.mentor_certifications for select to authenticated
  using ((select auth.uid()) is not null);

-- A cadet sees their own requests; a mentor sees the ones they accepted, and the PENDING ones in the skills they
-- are certified for (the requests they could take). Nobody else sees another cadet's requests, whatever their
-- rank. Changes go through the training functions only.
drop policy if exists academy_requests_select_involved on public.academy_requests;
create policy academy_requests_select_involved on public.academy_requests for select to authenticated
  using (
    cadet_id = (select auth.uid())
    or mentor_id = (select auth.uid())
    or (status = 'PENDING' and public.is_mentor_of(skill_id))
  );

-- A sim pod is private to its request's cadet and mentor.
drop policy if exists sim_pods_select_participants on public.sim_pods;
create policy sim_pods_select_participants on public.sim_pods for select to authenticated
  using (exists (
    select 1 from public.academy_requests r
     where r.id = request_id and (r.cadet_id = (select auth.uid()) or r.mentor_id = (select auth.uid()))));

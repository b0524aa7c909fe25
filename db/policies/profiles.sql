-- Members see each other's callsign and rank (who is on a net, who fired a flare); anon sees nobody.
drop policy if exists profiles_select_members on public.profiles;
create policy profiles_select_members on public.profiles for select to authenticated
  using ((select auth.uid()) is not null);

-- A member may edit their own profile; the column grants allow only callsign, so rank never changes here.
drop policy if exists profiles_update_own on public.profiles;
create policy profiles_update_own on public.profiles for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));

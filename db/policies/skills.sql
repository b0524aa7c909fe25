-- Every member reads the skills the academy teaches; FOUNDER+ add and edit them (operators also in the SQL editor).
drop policy if exists skills_select_members on public.skills;
create policy skills_select_members on public.skills for select to authenticated
  using ((select auth.uid()) is not null);

drop policy if exists skills_insert_founders on public.skills;
create policy skills_insert_founders on public.skills for insert to authenticated
  with check ((select auth.rank()) >= 'FOUNDER');

drop policy if exists skills_update_founders on public.skills;
create policy skills_update_founders on public.skills for update to authenticated
  using ((select auth.rank()) >= 'FOUNDER') with check ((select auth.rank()) >= 'FOUNDER');

-- Members see every roster. A squad's leads and FOUNDER+ add, re-role and remove its members; nobody else.
drop policy if exists squad_members_select_members on public.squad_members;
create policy squad_members_select_members on public.squad_members for select to authenticated
  using ((select auth.uid()) is not null);

drop policy if exists squad_members_insert_leads on public.squad_members;
create policy squad_members_insert_leads on public.squad_members for insert to authenticated
  with check ((select auth.rank()) >= 'FOUNDER' or public.is_squad_lead(squad_id));

drop policy if exists squad_members_update_leads on public.squad_members;
create policy squad_members_update_leads on public.squad_members for update to authenticated
  using ((select auth.rank()) >= 'FOUNDER' or public.is_squad_lead(squad_id))
  with check ((select auth.rank()) >= 'FOUNDER' or public.is_squad_lead(squad_id));

drop policy if exists squad_members_delete_leads on public.squad_members;
create policy squad_members_delete_leads on public.squad_members for delete to authenticated
  using ((select auth.rank()) >= 'FOUNDER' or public.is_squad_lead(squad_id));

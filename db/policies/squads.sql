-- Members see every squad. FOUNDER+ create and delete squads; FOUNDER+ and the squad's leads rename it.
drop policy if exists squads_select_members on public.squads;
create policy squads_select_members on public.squads for select to authenticated
  using ((select auth.uid()) is not null);

drop policy if exists squads_insert_founders on public.squads;
create policy squads_insert_founders on public.squads for insert to authenticated
  with check ((select auth.rank()) >= 'FOUNDER');

drop policy if exists squads_update_founders_and_leads on public.squads;
create policy squads_update_founders_and_leads on public.squads for update to authenticated
  using ((select auth.rank()) >= 'FOUNDER' or public.is_squad_lead(id))
  with check ((select auth.rank()) >= 'FOUNDER' or public.is_squad_lead(id));

drop policy if exists squads_delete_founders on public.squads;
create policy squads_delete_founders on public.squads for delete to authenticated
  using ((select auth.rank()) >= 'FOUNDER');

-- Every member sees every flare (who needs help, where, who answered); anon sees none. Changes go through the
-- flare functions only: members hold no insert, update or delete grant on the table.
drop policy if exists rescue_flares_select_members on public.rescue_flares;
create policy rescue_flares_select_members on public.rescue_flares for select to authenticated
  using ((select auth.uid()) is not null);

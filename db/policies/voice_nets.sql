-- A member sees exactly the nets they may join (the join rule lives in public.can_join_net); anon sees none.
-- The second clause is the same rule for FOUNDER+ (exempt from squad membership, so the join gate alone decides),
-- read from the row itself: the RETURNING of a FOUNDER's insert or edit meets this policy before the new row
-- version is visible to can_join_net's lookup by id, which would otherwise refuse every createVoiceNet.
drop policy if exists voice_nets_select_joinable on public.voice_nets;
create policy voice_nets_select_joinable on public.voice_nets for select to authenticated
  using (public.can_join_net(id) or (auth.rank() >= 'FOUNDER' and min_rank_to_join <= auth.rank()));

-- FOUNDER+ create, edit and delete nets, and only nets they could join themselves: nobody gates a net above
-- their own rank.
drop policy if exists voice_nets_insert_founders on public.voice_nets;
create policy voice_nets_insert_founders on public.voice_nets for insert to authenticated
  with check ((select auth.rank()) >= 'FOUNDER' and min_rank_to_join <= (select auth.rank()));

drop policy if exists voice_nets_update_founders on public.voice_nets;
create policy voice_nets_update_founders on public.voice_nets for update to authenticated
  using ((select auth.rank()) >= 'FOUNDER' and public.can_join_net(id))
  with check ((select auth.rank()) >= 'FOUNDER' and min_rank_to_join <= (select auth.rank()));

drop policy if exists voice_nets_delete_founders on public.voice_nets;
create policy voice_nets_delete_founders on public.voice_nets for delete to authenticated
  using ((select auth.rank()) >= 'FOUNDER' and public.can_join_net(id));

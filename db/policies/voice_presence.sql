-- Presence is visible for the nets a member may join (the same join rule as voice tokens), and one's own sessions.
drop policy if exists voice_presence_select on public.voice_presence;
create policy voice_presence_select on public.voice_presence for select to authenticated
  using (user_id = (select auth.uid()) or (net_id is not null and public.can_join_net(net_id)));

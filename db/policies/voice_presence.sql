-- Presence is visible for the nets a member may join (the same join rule as voice tokens), and one's own sessions.
-- The nets are asked for once per statement (nexus_private.joinable_nets, a hashed subplan), not once per row:
-- presence history grows without bound, and a per-row can_join_net() made a count of it take seconds.
drop policy if exists voice_presence_select on public.voice_presence;
create policy voice_presence_select on public.voice_presence for select to authenticated
  using (user_id = (select auth.uid()) or net_id in (select nexus_private.joinable_nets()));

-- A member sees a bridge when they may join both of its nets. Writes go through link_voice_nets and
-- unlink_voice_nets only (no write grants for members).
drop policy if exists voice_net_bridges_select_joinable on public.voice_net_bridges;
create policy voice_net_bridges_select_joinable on public.voice_net_bridges for select to authenticated
  using (public.can_join_net(source_net_id) and public.can_join_net(target_net_id));

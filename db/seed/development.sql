/*
 * Development seed (`npm run db:seed`; refused when NODE_ENV=production). Idempotent: run it as often as you like.
 *
 * One member of every rank, with known passwords (docs/voice.md lists them) — never use these outside development:
 *   vagrant@nomadnexus.dev / vagrant-dev-password  (callsign Vagrant1), and the same pattern for affiliate, scout,
 *   voyager, founder and pioneer (Affiliate1 … Pioneer1).
 * A squad, Red Wing (Scout1 leads, Affiliate1 flies), and nets across the rank ladder, including the runbook's
 * test-room (anyone joins and hears, SCOUT+ transmits) and a bridge between ops and command.
 *
 * Runs as service_role: accounts through nexus_private.create_user(), like `nexus user add`.
 */
do $$
declare
  r public.rank;
begin
  foreach r in array enum_range(null::public.rank) loop
    if not exists (select 1 from public.profiles p where lower(p.callsign) = lower(initcap(r::text) || '1')) then
      perform nexus_private.create_user(lower(r::text) || '@nomadnexus.dev', lower(r::text) || '-dev-password',
                                        initcap(r::text) || '1', r);
    end if;
  end loop;
end
$$;

insert into public.squads (name, description)
values ('Red Wing', 'Development squad: Scout1 leads, Affiliate1 flies.')
on conflict ((lower(name))) do nothing;

insert into public.squad_members (squad_id, user_id, role)
select s.id, p.id, case p.callsign when 'Scout1' then 'LEAD' else 'MEMBER' end
  from public.squads s, public.profiles p
 where s.name = 'Red Wing' and p.callsign in ('Scout1', 'Affiliate1')
on conflict do nothing;

insert into public.voice_nets (name, room_name, description, min_rank_to_join, min_rank_to_rx, min_rank_to_tx, linked_squad_id)
values
  ('General', 'general', 'Open comms: everyone joins, hears and speaks.', 'VAGRANT', 'VAGRANT', 'VAGRANT', null),
  ('Test room', 'test-room', 'The runbook''s check: anyone hears, SCOUT+ transmits.', 'VAGRANT', 'VAGRANT', 'SCOUT', null),
  ('Operations', 'ops', 'SCOUT+ join and hear, VOYAGER+ transmit.', 'SCOUT', 'SCOUT', 'VOYAGER', null),
  ('Command', 'command', 'VOYAGER+ listen in, FOUNDER+ speak.', 'VOYAGER', 'VOYAGER', 'FOUNDER', null),
  ('Founders', 'founders', 'FOUNDER+ only.', 'FOUNDER', 'FOUNDER', 'FOUNDER', null),
  ('Pioneer council', 'pioneer-council', 'PIONEER only.', 'PIONEER', 'PIONEER', 'PIONEER', null),
  ('Red Wing', 'red-wing', 'Red Wing squad net (AFFILIATE+ members of the squad, and FOUNDER+).', 'AFFILIATE', 'AFFILIATE', 'AFFILIATE',
   (select id from public.squads where name = 'Red Wing'))
on conflict (room_name) do nothing;

insert into public.voice_net_bridges (source_net_id, target_net_id, created_by)
select o.id, c.id, (select id from public.profiles where callsign = 'Founder1')
  from public.voice_nets o, public.voice_nets c
 where o.room_name = 'ops' and c.room_name = 'command'
on conflict do nothing;

select p.callsign, lower(p.rank::text) || '@nomadnexus.dev' as email, p.rank::text as rank,
       lower(p.rank::text) || '-dev-password' as password
  from public.profiles p
 where p.callsign = initcap(p.rank::text) || '1'
 order by p.rank;

-- migrate:up
/*
 * Every text a member writes has a length bound (security review: squads.description had none, so an AFFILIATE
 * squad LEAD stored 90 000 characters that every member's `squads` list then downloaded). The audit of the
 * member-writable text columns: profiles.callsign (2-32), squads.name (2-64), voice_nets.name (1-64),
 * voice_nets.room_name (1-128), skills.name (1-100), skills.description (2000), skills.category (1-60),
 * rescue_flares.location (1-200), push_subscriptions.endpoint (2048, checked by its trigger), p256dh and auth (fixed
 * sizes), auth.users.email (320) were bounded; squads.description and voice_nets.description were not. They get
 * the bound skills.description has: 2000 characters, several paragraphs, far more than a card in the app shows.
 *
 * A database already holding a longer one stops here, saying which rows, rather than truncating what an operator
 * wrote: shorten them (`update public.squads set description = left(description, 2000) where length(description) > 2000`)
 * and migrate again.
 */
do $$
declare
  squads_over text := (select string_agg(format('%s (%s characters)', s.name, length(s.description)), ', ')
                         from public.squads s where length(s.description) > 2000);
  nets_over text := (select string_agg(format('%s (%s characters)', n.name, length(n.description)), ', ')
                       from public.voice_nets n where length(n.description) > 2000);
begin
  if squads_over is not null or nets_over is not null then
    raise exception 'descriptions are limited to 2000 characters; shorten these first, then migrate again: %',
      concat_ws('; ', 'squads: ' || squads_over, 'voice nets: ' || nets_over)
      using hint = 'update public.squads set description = left(description, 2000) where length(description) > 2000 (and the same for public.voice_nets)';
  end if;
end
$$;

alter table public.squads
  add constraint squads_description_length check (description is null or length(description) <= 2000);
alter table public.voice_nets
  add constraint voice_nets_description_length check (description is null or length(description) <= 2000);

-- migrate:down
alter table public.voice_nets drop constraint if exists voice_nets_description_length;
alter table public.squads drop constraint if exists squads_description_length;

/*
 * Open rescue flares for operators (the /ops page's flares panel): every OPEN or ACKNOWLEDGED flare with the
 * requester's and responder's callsigns, newest first. Same gate as the job queue functions: FOUNDER+ and
 * service_role; anyone else INSUFFICIENT_CLEARANCE.
 */
create or replace function public.open_rescue_flares()
returns table (
  id uuid,
  flare_type public.flare_type,
  status public.flare_status,
  location text,
  requester_callsign text,
  responder_callsign text,
  created_at timestamptz,
  acknowledged_at timestamptz
)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  perform nexus_private.require_job_operator();
  return query
    select f.id, f.flare_type, f.status, f.location, requester.callsign, responder.callsign, f.created_at, f.acknowledged_at
      from public.rescue_flares f
      join public.profiles requester on requester.id = f.requester_id
      left join public.profiles responder on responder.id = f.responder_id
     where f.status in ('OPEN', 'ACKNOWLEDGED')
     order by f.created_at desc
     limit 500;
end
$$;
comment on function public.open_rescue_flares() is 'Open and acknowledged rescue flares with callsigns, for operators (FOUNDER+, service_role).';
grant execute on function public.open_rescue_flares() to anon, authenticated, service_role;

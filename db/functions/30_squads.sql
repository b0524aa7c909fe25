/*
 * Squad roster rules. is_squad_lead() is security definer so that the policies on squad_members can ask "does
 * the caller lead this squad?" without reading squad_members through its own policies.
 */
create or replace function public.is_squad_lead(squad_id uuid) returns boolean
language sql stable security definer parallel safe set search_path = pg_catalog, public as $$
  select exists (
    select 1 from public.squad_members m
     where m.squad_id = is_squad_lead.squad_id and m.user_id = auth.uid() and m.role = 'LEAD'
  )
$$;
comment on function public.is_squad_lead(uuid) is E'@behavior -queryField\nWhether the caller leads the squad (manages its roster).';
grant execute on function public.is_squad_lead(uuid) to anon, authenticated, service_role;

-- migrate:up
/*
 * Push endpoints in their one spelling (nexus_private.canonical_push_endpoint: the host in lower case, the
 * default port left out), for the rows stored before subscribe_push wrote them so, or brought over by `import
 * supabase` as the old database had them. One device written two ways was two rows, paged twice, and a later
 * subscribe in the canonical spelling did not find it. Each group of rows that are one endpoint keeps one row: the
 * one already in the canonical spelling, else the newest (a device that signed in as someone else belongs to the
 * later member, as subscribe_push moves it); the others are deleted (their queued notifications keep their
 * history, with no subscription, as when a device is removed). The kept row is then written canonically.
 * A row that is not an endpoint at all (canonical_push_endpoint is null) is left as it is.
 *
 * The spelling is a function of db/functions, applied after the migrations: on a database that has never had it
 * (a fresh one, whose table is empty) there is nothing to do.
 */
do $$
begin
  if to_regprocedure('nexus_private.canonical_push_endpoint(text)') is null then
    return;
  end if;
  with spelled as (
    select s.id, s.endpoint, nexus_private.canonical_push_endpoint(s.endpoint) as canonical, s.created_at
      from public.push_subscriptions s
  ), ranked as (
    select id, row_number() over (partition by canonical
                                  order by (endpoint = canonical) desc, created_at desc, id desc) as n
      from spelled
     where canonical is not null
       and canonical in (select canonical from spelled where canonical is not null and endpoint <> canonical)
  )
  delete from public.push_subscriptions s using ranked r where s.id = r.id and r.n > 1;
  update public.push_subscriptions s
     set endpoint = nexus_private.canonical_push_endpoint(s.endpoint)
   where nexus_private.canonical_push_endpoint(s.endpoint) is not null
     and nexus_private.canonical_push_endpoint(s.endpoint) <> s.endpoint;
end
$$;

-- migrate:down
-- Nothing to undo: the rows keep their one spelling, which every release reads (unsubscribe_push matches both).
select 1;

-- migrate:up
/*
 * Callsigns written from now on are tidied by a trigger (nexus_private.tidy_callsign: no space at either end,
 * none doubled). This tidies the ones stored before, so "Founder  1" stops passing for "Founder 1" too. A
 * callsign whose tidy form another member already has is left as it is (renaming either is the operator's
 * call), and so are two untidy spellings of one name; docs/ACCOUNTS.md gives the query that lists those.
 */
update public.profiles p
   set callsign = regexp_replace(btrim(p.callsign, ' '), ' {2,}', ' ', 'g')
 where p.callsign <> regexp_replace(btrim(p.callsign, ' '), ' {2,}', ' ', 'g')
   -- Nobody else's callsign, tidy or not, comes out the same (two untidy spellings of one name stay as they are).
   and not exists (
     select 1 from public.profiles q
      where q.id <> p.id
        and lower(regexp_replace(btrim(q.callsign, ' '), ' {2,}', ' ', 'g')) = lower(regexp_replace(btrim(p.callsign, ' '), ' {2,}', ' ', 'g')));

-- migrate:down
-- The untidy spellings are not kept: nothing to undo.

-- migrate:up
/*
 * Live voice rights on squad membership: the three per-event trigger functions (insert, delete, update on
 * public.squad_members) are one, nexus_private.voice_rights_on_squad_members(), in
 * db/functions/63_voice_rights_live.sql. That file repoints the three triggers and drops the old functions in the
 * same transaction, so no membership change goes unseen in between; nothing to do here on the way up.
 */
select 1;

-- migrate:down
-- The function db/functions/63_voice_rights_live.sql adds goes with this migration; the code of the version rolled
-- back to re-applies its own three functions and triggers.
drop trigger if exists squad_members_voice_rights_insert on public.squad_members;
drop trigger if exists squad_members_voice_rights_delete on public.squad_members;
drop trigger if exists squad_members_voice_rights_update on public.squad_members;
drop function if exists nexus_private.voice_rights_on_squad_members();

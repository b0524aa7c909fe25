-- migrate:up
/*
 * Sim pods' rooms (`sim-pod-<32 hex>`, made by accept_training) are private to their cadet and mentor: a voice net
 * named after one would hand its gates' ranks a token for that pod's room. No net may take the prefix. NOT VALID:
 * a net already named so (none was ever made by this backend) is left for its operator to rename; every write
 * from now on is checked.
 */
alter table public.voice_nets
  add constraint voice_nets_room_name_not_sim_pod check (lower(room_name) !~ '^sim-pod-') not valid;

-- migrate:down
alter table public.voice_nets drop constraint if exists voice_nets_room_name_not_sim_pod;

begin;
select plan(7);

/* as_uuid(): text written as a uuid becomes one; anything else is null, never an error. */
select is(nexus_private.as_uuid('0c1ff1da-a5aa-45bf-9fa8-c21a07a0cf68'), '0c1ff1da-a5aa-45bf-9fa8-c21a07a0cf68'::uuid, 'a uuid in lower case');
select is(nexus_private.as_uuid('0C1FF1DA-A5AA-45BF-9FA8-C21A07A0CF68'), '0c1ff1da-a5aa-45bf-9fa8-c21a07a0cf68'::uuid, 'and in upper case');
select is(nexus_private.as_uuid('test-room'), null, 'a room name is not a uuid');
select is(nexus_private.as_uuid('{0c1ff1da-a5aa-45bf-9fa8-c21a07a0cf68}'), null, 'nor the braced form the uuid type would accept');
select is(nexus_private.as_uuid('0c1ff1daa5aa45bf9fa8c21a07a0cf68'), null, 'nor the form without hyphens');
select is(nexus_private.as_uuid(' 0c1ff1da-a5aa-45bf-9fa8-c21a07a0cf68'), null, 'nor one with a space in front');
select is(nexus_private.as_uuid(null), null, 'null stays null');

select * from finish();
rollback;

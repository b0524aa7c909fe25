begin;
select plan(13);
create temp table old_hash on commit drop as select crypt('old-password', gen_salt('bf', 4)) as hash;
grant select on old_hash to public;

-- Only operators import: no API role may call it, and the check inside holds even for one that could.
select tests.clear_authentication();
select throws_ok($$ select * from nexus_private.import_supabase_rows('auth.users', '[]') $$, '42501', null, 'anon cannot import');
select tests.authenticate_as(tests.user_of_rank('PIONEER'));
select throws_ok($$ select * from nexus_private.import_supabase_rows('auth.users', '[]') $$, '42501', null, 'not even a PIONEER can import');
reset role;
select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select throws_ok($$ select * from nexus_private.import_supabase_rows('auth.users', '[]') $$, 'NX403', 'INSUFFICIENT_CLEARANCE',
  'a caller that is not the service role is refused inside too');

select tests.authenticate_as_service();
select throws_ok($$ select * from nexus_private.import_supabase_rows('public.secrets', '[]') $$, 'NX400', 'BAD_REQUEST', 'an unknown old table is refused');
select is((select action from nexus_private.import_supabase_rows('auth.users', jsonb_build_array(jsonb_build_object(
    'id', '00000000-0000-4000-8000-0000000000aa', 'email', 'Old@Example.org',
    'encrypted_password', (select hash from old_hash), 'raw_user_meta_data', '{"callsign":"Oldie"}'::jsonb)))),
  'insert', 'an old user is brought over');
select is((select action from nexus_private.import_supabase_rows('public.profiles', '[{"id":"00000000-0000-4000-8000-0000000000aa","rank":"founder","rsi_handle":"old_rsi"}]'::jsonb)),
  'insert', 'their profile too');
select is((select callsign || ' ' || rank from public.profiles where id = '00000000-0000-4000-8000-0000000000aa'), 'Oldie FOUNDER',
  'the callsign comes from raw_user_meta_data when the profile has none; the lowercase rank maps to the enum');
select is((select unmapped from nexus_private.import_supabase_rows('public.profiles', '[{"id":"00000000-0000-4000-8000-0000000000ab","rank":"founder","rsi_handle":"x"}]'::jsonb)),
  array['rsi_handle'], 'columns with no place here are named');
select is((select action from nexus_private.import_supabase_rows('public.profiles', '[{"id":"00000000-0000-4000-8000-0000000000aa","rank":"founder","rsi_handle":"old_rsi"}]'::jsonb)),
  'unchanged', 'the same row again changes nothing');
select is((select action from nexus_private.import_supabase_rows('public.profiles', '[{"id":"00000000-0000-4000-8000-0000000000aa","rank":"pioneer","rsi_handle":"old_rsi"}]'::jsonb)),
  'changed', 'a row that changed in the old database is listed, not applied');
select is((select rank::text from public.profiles where id = '00000000-0000-4000-8000-0000000000aa'), 'FOUNDER', 'so the rank here stays');
select is((select action from nexus_private.import_supabase_rows('public.push_subscriptions',
    '[{"user_id":"00000000-0000-4000-8000-0000000000aa","endpoint":"https://fcm.googleapis.com/x","p256dh":"bad","auth":"bad"}]'::jsonb)),
  'kept', 'a row a constraint here refuses is kept, not imported');
reset role;
select is((select old_row ->> 'p256dh' from nexus_private.imported_rows where source_key = 'https://fcm.googleapis.com/x'), 'bad',
  'and its old content is recorded');

select * from finish();
rollback;

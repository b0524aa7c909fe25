begin;
select plan(10);

select tests.user_of_rank(r) from unnest(enum_range(null::public.rank)) r;
-- Every member has a device; the requester has two; the VOYAGER three.
select tests.subscribe(tests.user_of_rank(r)) from unnest(enum_range(null::public.rank)) r;
select tests.subscribe(tests.user_of_rank('SCOUT'));
select tests.subscribe(tests.user_of_rank('VOYAGER')) from generate_series(1, 2);

select tests.authenticate_as(tests.user_of_rank('SCOUT'));
create temporary table flare on commit drop as select * from public.fire_rescue_flare('Stanton III - Crusader', 'MEDICAL');
reset role;

create temporary table pages (last_subscription_id uuid, queued integer) on commit drop;
-- Pages of 3 devices, 2 rows a delivery job.
insert into pages select * from nexus_private.fan_out_flare((select id from flare), null, 3, 2);
insert into pages select * from nexus_private.fan_out_flare((select id from flare), (select max(last_subscription_id::text)::uuid from pages), 3, 2);
insert into pages select * from nexus_private.fan_out_flare((select id from flare), (select max(last_subscription_id::text)::uuid from pages), 3, 2);

select results_eq($$ select queued from pages $$, $$ values (3), (3), (1) $$,
  'the fan-out goes page by page until a short page');
select is((select count(*)::int from public.notification_queue where type = 'RESCUE_FLARE'), 7,
  'every device of every other member gets one row (5 members, 7 devices)');
select is_empty($$ select * from public.notification_queue where user_id = tests.user_of_rank('SCOUT') $$,
  'the requester is not paged about their own flare');
select is((select count(distinct user_id)::int from public.notification_queue), 5,
  'members of every rank are paged, VAGRANT to PIONEER');
select is((select count(*)::int from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
            where t.identifier = 'push__deliver'), 5,
  'delivery jobs are queued in batches of 2 rows per page (2 + 2 + 1)');
select is((select sum(jsonb_array_length((j.payload->'ids')::jsonb))::int from graphile_worker._private_jobs j
             join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'push__deliver'), 7,
  'the delivery jobs carry every row once');
select is((select payload - 'createdAt' from public.notification_queue limit 1),
  jsonb_build_object('type', 'RESCUE_FLARE', 'flareId', (select id from flare), 'location', 'Stanton III - Crusader',
    'flareType', 'MEDICAL', 'status', 'OPEN', 'requesterId', tests.user_of_rank('SCOUT'), 'requesterCallsign', 'test-scout',
    'tag', 'flare-' || (select id from flare), 'title', 'Rescue flare: MEDICAL',
    'body', 'test-scout needs medical help at Stanton III - Crusader'),
  'the page says who needs help, where and what kind');

-- A fan-out that runs again (its worker crashed) queues nothing twice.
select is((select sum(queued)::int from nexus_private.fan_out_flare((select id from flare), null, 100, 2)), 0,
  'running the fan-out again queues no device twice');

-- A flare that is over is not paged, and its unsent pages are dropped.
select tests.authenticate_as(tests.user_of_rank('SCOUT'));
select public.cancel_rescue_flare((select id from flare));
reset role;
select is((select count(*)::int from public.notification_queue where failed_at is not null and last_error like '%cancelled%'), 7,
  'cancelling a flare drops its pages that were not sent yet');
delete from public.notification_queue;
select is((select sum(queued)::int from nexus_private.fan_out_flare((select id from flare), null, 100, 2)), 0,
  'a cancelled flare is not fanned out');

select * from finish();
rollback;

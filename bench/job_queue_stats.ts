/**
 * What watching the queue costs: the monitoring functions behind /ops, /metrics and `nexus jobs` read
 * graphile-worker's whole jobs table on every poll and scrape. Measured on a throwaway PostgreSQL for a quiet
 * queue and for a 100 000-job backlog, against a bare `count(*)` of the same table, and the /ops page's whole poll
 * over HTTP against a trivial GraphQL query on the same server.
 *
 *   node_modules/.bin/node bench/job_queue_stats.ts [rounds]
 */
import pg from "pg";
import "../core/env.ts";
import { createServer } from "../server/app.ts";
import { loadConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { startCluster } from "../test/support/cluster.ts";
import { createMember } from "../test/support/members.ts";
import { TEST_JWT_SECRET } from "../test/support/server.ts";
import { benchDatabase } from "./support/setup.ts";

const ROUNDS = Number(process.argv[2] ?? 40);
const SIZES = [1_000, 100_000];
const TASKS = 10;

const OPS_POLL = `query OpsPage {
  jobQueueStats { nodes { taskIdentifier queued scheduled running failed oldestQueuedAt } }
  failedJobs(first: 100) { nodes { id taskIdentifier attempts maxAttempts lastError payload runAt updatedAt key } }
  cronSchedule { nodes { identifier knownSince lastExecution } }
}`;

async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** A backlog in the proportions of a bad day: 80 % queued, 10 % dead letters, 10 % scheduled, 100 running. */
async function fill(client: pg.Client, jobs: number): Promise<void> {
  await client.query("truncate graphile_worker._private_jobs");
  await client.query(
    `insert into graphile_worker._private_tasks (identifier)
     select 'bench__task_' || n from generate_series(1, $1) n on conflict do nothing`,
    [TASKS],
  );
  await client.query(
    `insert into graphile_worker._private_jobs (task_id, payload, run_at, attempts, max_attempts, last_error, locked_at, locked_by)
     select t.id,
            json_build_object('n', n, 'subscriptionId', gen_random_uuid()),
            case when n % 10 = 1 then now() + interval '1 hour' else now() - (n || ' ms')::interval end,
            case when n % 10 = 2 then 25 else 0 end,
            25,
            case when n % 10 = 2 then 'Error: push service answered 410 Gone' end,
            case when n <= 100 then now() end,
            case when n <= 100 then 'bench-worker' end
       from generate_series(1, $1) n
       join graphile_worker._private_tasks t on t.identifier = 'bench__task_' || (1 + n % $2)`,
    [jobs, TASKS],
  );
  await client.query("vacuum analyze graphile_worker._private_jobs");
}

async function main() {
  const cluster = await startCluster();
  const url = await benchDatabase(cluster);

  const log = createLogger("silent");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const server = await createServer({ config, pool, log });
  await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as import("node:net").AddressInfo;
  const founder = await createMember(pool, "FOUNDER", "Bench");
  const gql = async (query: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${founder.token}` },
      body: JSON.stringify({ query }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`set role service_role; select set_config('request.jwt.claims', '{"role":"service_role"}', false)`);
  const superuser = new pg.Client({ connectionString: url });
  await superuser.connect();

  const rows: string[] = [];
  for (const size of SIZES) {
    await fill(superuser, size);
    const baseline = await median(() => superuser.query("select count(*) from graphile_worker._private_jobs"));
    const stats = await median(() => client.query("select * from public.job_queue_stats()"));
    const failed = await median(() => client.query("select * from public.failed_jobs() limit 100"));
    const httpBaseline = await median(() => gql("{ __typename }"));
    const poll = await median(() => gql(OPS_POLL));
    const f = (ms: number) => ms.toFixed(2);
    const r = (ms: number, base: number) => (ms / base).toFixed(1);
    rows.push(
      `| ${size.toLocaleString("en")} | ${f(baseline)} | ${f(stats)} (${r(stats, baseline)}×) | ${f(failed)} (${r(failed, baseline)}×) | ${f(httpBaseline)} | ${f(poll)} (${r(poll, httpBaseline)}×) |`,
    );
  }
  console.log(`median of ${ROUNDS} rounds, milliseconds (ratio to the baseline measured in the same run)\n`);
  console.log("| jobs | count(*) baseline | job_queue_stats() | failed_jobs() limit 100 | HTTP `{ __typename }` | /ops poll over HTTP |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);

  await client.end();
  await superuser.end();
  await server.close();
  await pool.end();
  cluster.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

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

/**
 * A backlog in the proportions of a bad day: 80 % queued, 10 % dead letters, 10 % scheduled. Jobs `from`…`to` are
 * added through graphile-worker's public SQL API (add_jobs, then permanently_fail_jobs for the dead letters), never
 * by writing its private tables, so the rows are what a worker would have left. Running (locked) jobs have no public
 * way in and are left out: a hundred of them did not move the figures.
 */
async function fill(client: pg.Client, from: number, to: number): Promise<void> {
  const specs = (which: string) => `array(
    select row('bench__task_' || (1 + n % $3), json_build_object('n', n, 'subscriptionId', gen_random_uuid()), null,
               case when n % 10 = 1 then now() + interval '1 hour' else now() - (n || ' ms')::interval end,
               25, null, null, null)::graphile_worker.job_spec
      from generate_series($1::int, $2::int) n where ${which})`;
  await client.query(`select count(*) from graphile_worker.add_jobs(${specs("n % 10 <> 2")})`, [from, to, TASKS]);
  await client.query(
    `select count(*) from graphile_worker.permanently_fail_jobs(
       array(select id from graphile_worker.add_jobs(${specs("n % 10 = 2")})), 'Error: push service answered 410 Gone')`,
    [from, to, TASKS],
  );
  await client.query("analyze graphile_worker._private_jobs");
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
  let filled = 0;
  for (const size of SIZES) {
    await fill(superuser, filled + 1, size);
    filled = size;
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

/**
 * Crontab sweep: close presence rows open longer than PRESENCE_MAX_OPEN_HOURS with no event since — their
 * participant_left was lost (LiveKit drops webhooks that wait over 30 s and does not guarantee delivery).
 */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";

const task: Task = async (_payload, helpers) => {
  const { config, log } = workerContext();
  const { rows } = await helpers.withPgClient((client) =>
    client.query("select * from nexus_private.close_stale_presence(make_interval(hours => $1))", [config.presenceMaxOpenHours]),
  );
  if (rows.length > 0) {
    log.warn({ closed: rows.length, sessions: rows.slice(0, 50), maxOpenHours: config.presenceMaxOpenHours }, "closed stale presence rows");
  }
};

export default task;

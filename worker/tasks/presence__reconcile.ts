/**
 * Crontab sweep: where LiveKit is reachable (LIVEKIT_URL set), compare each room with open presence rows
 * against RoomServiceClient.listParticipants and close the sessions LiveKit no longer has.
 */
import type { Task } from "graphile-worker";
import { isNotFound as roomIsGone, roomService } from "../../core/livekit/room-service.ts";
import { workerContext } from "../context.ts";

const task: Task = async (_payload, helpers) => {
  const { config, log } = workerContext();
  // A network failure (say DNS's ENOTFOUND) is never read as "room gone", which would close everyone's session.
  const rooms = roomService(config);
  if (!rooms) {
    log.debug("presence reconcile skipped: LiveKit is not configured");
    return;
  }
  const { rows } = await helpers.withPgClient((client) => client.query<{ room: string }>("select room from nexus_private.rooms_with_open_presence() room"));
  let failures = 0;
  for (const { room } of rows) {
    const listedAt = new Date();
    let sids: string[];
    try {
      sids = (await rooms.room(room).listParticipants(room)).map((p) => p.sid);
    } catch (error) {
      if (!roomIsGone(error)) {
        failures++;
        log.warn({ room, err: error }, "presence reconcile: LiveKit did not answer for this room; left as is");
        continue;
      }
      sids = [];
    }
    const closed = await helpers.withPgClient((client) =>
      client.query("select * from nexus_private.reconcile_room($1, $2, $3)", [room, sids, listedAt]),
    );
    if (closed.rows.length > 0) {
      log.warn({ room, closed: closed.rows }, "presence reconcile closed sessions LiveKit no longer has");
    }
  }
  if (failures > 0 && failures === rows.length) throw new Error(`LiveKit unreachable for all ${failures} rooms`);
};

export default task;

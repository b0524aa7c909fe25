/**
 * Crontab sweep: where LiveKit is reachable (LIVEKIT_URL set), compare each room with open presence rows
 * against RoomServiceClient.listParticipants and close the sessions LiveKit no longer has.
 */
import type { Task } from "graphile-worker";
import { RoomServiceClient, TwirpError } from "livekit-server-sdk";
import { workerContext } from "../context.ts";

/**
 * LiveKit answers a room that no longer exists with a Twirp error: HTTP 404, code `not_found`. Only that reply
 * counts: a network failure (say DNS's ENOTFOUND) must never be read as "room gone" and close everyone's session.
 */
function roomIsGone(error: unknown): boolean {
  if (!(error instanceof TwirpError)) return false;
  return error.status === 404 && error.code === "not_found";
}

const task: Task = async (_payload, helpers) => {
  const { config, log } = workerContext();
  const { url, apiKey, apiSecret } = config.livekit;
  if (!url || !apiKey || !apiSecret) {
    log.debug("presence reconcile skipped: LiveKit is not configured");
    return;
  }
  const rooms = new RoomServiceClient(url.replace(/^ws/, "http"), apiKey, apiSecret);
  const { rows } = await helpers.withPgClient((client) => client.query<{ room: string }>("select room from nexus_private.rooms_with_open_presence() room"));
  let failures = 0;
  for (const { room } of rows) {
    const listedAt = new Date();
    let sids: string[];
    try {
      sids = (await rooms.listParticipants(room)).map((p) => p.sid);
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

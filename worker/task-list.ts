/**
 * The task list: every file in the task directory under its own name (`<subject>__<action>`), loaded by
 * graphile-worker's getTasks, plus the names tasks had before they were renamed. A job queued under an old name
 * (by a server not yet upgraded, or waiting in the queue across the upgrade) still runs, with the task it was
 * renamed to.
 */
import { getTasks, type Logger as GraphileLogger, type TaskList } from "graphile-worker";

/** Old identifier -> the task it became. Drop an entry once no job can still carry the old name. */
export const RENAMED_TASKS: Readonly<Record<string, string>> = {
  livekit_webhook: "presence__apply_event",
};

export interface LoadedTaskList {
  tasks: TaskList;
  release(): Promise<void>;
}

export async function loadTaskList(directory: string, logger: GraphileLogger): Promise<LoadedTaskList> {
  const watched = await getTasks({ logger }, directory);
  const tasks: TaskList = { ...watched.tasks };
  for (const [old, current] of Object.entries(RENAMED_TASKS)) {
    const task = watched.tasks[current];
    if (task && !tasks[old]) tasks[old] = task;
  }
  return { tasks, release: async () => watched.release() };
}

/*
 * The panels of the /ops page, in display order. A panel is
 *   { id, title, field, selection, empty, render(nodes, tools), count?(nodes, data) }
 * where `field` is the root Query field it reads, `selection` its part of the polled GraphQL document, and
 * render() returns DOM built with tools.el / tools.table (text only, never HTML strings). A panel whose field
 * the server's schema lacks is skipped, so a panel can ship before the capability behind it is deployed.
 */

const DEAD_LETTERS_SHOWN = 100;
const RETRY = `mutation Retry($ids: [BigInt]!) { retryJobs(input: { jobIds: $ids }) { result { id } } }`;
const DISCARD = `mutation Discard($ids: [BigInt]!) { discardJobs(input: { jobIds: $ids }) { result { id } } }`;

/* A button that runs an action once (disabled meanwhile) and shows a refusal or failure next to itself. */
function actionButton(tools, label, run, { danger = false, confirmKey } = {}) {
  const { el, state } = tools;
  const confirming = confirmKey && state.confirming === confirmKey;
  const button = el(
    "button",
    { type: "button", className: [danger && "danger", confirming && "confirming"].filter(Boolean).join(" ") },
    confirming ? `Confirm ${label.toLowerCase()}` : label,
  );
  button.addEventListener("click", async () => {
    // Destructive actions take a second press (no dialog: it must work on a phone and in a test).
    if (confirmKey && state.confirming !== confirmKey) {
      state.confirming = confirmKey;
      button.classList.add("confirming");
      button.textContent = `Confirm ${label.toLowerCase()}`;
      setTimeout(() => {
        if (state.confirming !== confirmKey) return;
        state.confirming = undefined;
        button.classList.remove("confirming");
        button.textContent = label;
      }, 4000);
      return;
    }
    state.confirming = undefined;
    button.disabled = true;
    try {
      await run();
    } catch (error) {
      button.replaceWith(el("span", { className: "error-text" }, error.message));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/* A collapsible block whose open/closed state survives the panel's redraws. */
function keptOpen(tools, key, summary, body) {
  const { el, state } = tools;
  state.open ??= new Set();
  const details = el("details", { open: state.open.has(key) }, el("summary", {}, summary), body);
  details.addEventListener("toggle", () => (details.open ? state.open.add(key) : state.open.delete(key)));
  return details;
}

/** How many rows a connection shows, and of how many when GraphQL's default page (100) cut it. */
const shown = (nodes, data) => (data?.totalCount > nodes.length ? `${nodes.length} of ${data.totalCount}` : `${nodes.length}`);

export const panels = [
  {
    id: "queue",
    title: "Queue depth",
    field: "jobQueueStats",
    selection: `jobQueueStats { nodes { taskIdentifier queued scheduled running failed oldestQueuedAt } }`,
    empty: "No tasks registered yet: no worker has started against this database.",
    count: (nodes) => `${nodes.reduce((n, r) => n + r.queued + r.running, 0)} waiting or running`,
    render(nodes, { table, ago, clock, el }) {
      return table(
        [
          { label: "Task", cell: (r) => el("code", {}, r.taskIdentifier) },
          { label: "Queued", className: "num", cell: (r) => r.queued },
          { label: "Later", className: "num", cell: (r) => r.scheduled },
          { label: "Running", className: "num", cell: (r) => r.running },
          { label: "Dead", className: "num", cell: (r) => r.failed, cellClass: (r) => (r.failed > 0 ? "bad" : "") },
          {
            label: "Waiting",
            className: "num when",
            cell: (r) => (r.oldestQueuedAt ? el("span", { title: clock(r.oldestQueuedAt) }, ago(r.oldestQueuedAt)) : "—"),
          },
        ],
        nodes,
        (r) => r.taskIdentifier,
        { compact: true },
      );
    },
  },
  {
    id: "dead-letters",
    title: "Dead letters",
    field: "failedJobs",
    // No totalCount: counting would run failed_jobs() a second time; the queue panel has the dead count per task.
    selection: `failedJobs(first: ${DEAD_LETTERS_SHOWN}) { nodes { id taskIdentifier attempts maxAttempts lastError payload runAt updatedAt key } }`,
    empty: "None: every failed job still has attempts left, or was retried.",
    count: (nodes) => (nodes.length >= DEAD_LETTERS_SHOWN ? `newest ${nodes.length}` : `${nodes.length}`),
    render(nodes, tools) {
      const { table, el, ago, clock, mutate } = tools;
      const ids = nodes.map((r) => r.id);
      // Bulk buttons act on the rows shown (at most DEAD_LETTERS_SHOWN); `nexus jobs --retry all` takes every one.
      const which = ids.length >= DEAD_LETTERS_SHOWN ? "these" : "all";
      const bulk = el(
        "div",
        { className: "actions" },
        actionButton(tools, `Retry ${which} ${ids.length}`, () => mutate(RETRY, { ids })),
        actionButton(tools, `Discard ${which} ${ids.length}`, () => mutate(DISCARD, { ids }), { danger: true, confirmKey: "all" }),
      );
      const rows = table(
        [
          { label: "Job", className: "num", cell: (r) => r.id },
          { label: "Task", cell: (r) => el("code", {}, r.taskIdentifier) },
          { label: "Attempts", className: "num", cell: (r) => `${r.attempts}/${r.maxAttempts}` },
          { label: "Failed", className: "when", cell: (r) => el("span", { title: clock(r.updatedAt) }, ago(r.updatedAt)) },
          {
            label: "Last error",
            className: "wide",
            cell: (r) => {
              // The summary is the error's first line; opening it shows the rest (the stack), the payload and the key.
              const [first = "", ...rest] = (r.lastError ?? "").split("\n");
              const details = [rest.join("\n").trim(), `payload ${JSON.stringify(r.payload, null, 2)}`, r.key ? `key ${r.key}` : ""];
              return keptOpen(
                tools,
                `job-${r.id}`,
                el("span", { className: "error-text" }, first || "—"),
                el("pre", {}, details.filter(Boolean).join("\n")),
              );
            },
          },
          {
            label: "",
            cell: (r) =>
              el(
                "div",
                { className: "actions" },
                actionButton(tools, "Retry", () => mutate(RETRY, { ids: [r.id] })),
                actionButton(tools, "Discard", () => mutate(DISCARD, { ids: [r.id] }), { danger: true, confirmKey: r.id }),
              ),
          },
        ],
        nodes,
        (r) => r.id,
      );
      return el("div", {}, nodes.length > 1 ? bulk : null, rows);
    },
  },
  {
    id: "cron",
    title: "Cron",
    field: "cronSchedule",
    selection: `cronSchedule { nodes { identifier knownSince lastExecution } }`,
    empty: "No schedules registered (worker/crontab is empty or no worker has started).",
    render(nodes, { table, el, ago, clock }) {
      return table(
        [
          { label: "Schedule", cell: (r) => el("code", {}, r.identifier) },
          {
            label: "Last run",
            cell: (r) => (r.lastExecution ? el("span", { title: clock(r.lastExecution) }, ago(r.lastExecution)) : "not yet"),
          },
          { label: "Known since", cell: (r) => el("span", { title: clock(r.knownSince) }, ago(r.knownSince)) },
        ],
        nodes,
        (r) => r.identifier,
        { compact: true },
      );
    },
  },
  {
    // public.net_roster() (presence capability): open sessions on the nets this operator may join, per RLS.
    id: "presence",
    title: "On the nets now",
    field: "netRoster",
    selection: `netRoster { totalCount nodes { presenceId roomName callsign rank participantIdentity joinedAt } }`,
    empty: "Nobody is connected to a net you may join.",
    count: shown,
    render(nodes, { table, el, ago, clock }) {
      return table(
        [
          { label: "Net", cell: (r) => el("code", {}, r.roomName) },
          { label: "Callsign", cell: (r) => r.callsign ?? r.participantIdentity },
          { label: "Rank", cell: (r) => r.rank ?? "—" },
          { label: "Since", className: "when", cell: (r) => el("span", { title: clock(r.joinedAt) }, ago(r.joinedAt)) },
        ],
        nodes,
        (r) => r.presenceId,
        { compact: true },
      );
    },
  },
  {
    // public.open_rescue_flares() (db/functions/71_rescue_flares_ops.sql): OPEN and ACKNOWLEDGED flares.
    id: "flares",
    title: "Open rescue flares",
    field: "openRescueFlares",
    selection: `openRescueFlares { totalCount nodes { id flareType status location requesterCallsign responderCallsign createdAt } }`,
    empty: "No open flares.",
    count: shown,
    render(nodes, { table, el, ago, clock }) {
      return table(
        [
          { label: "Type", cell: (r) => r.flareType },
          { label: "Status", cell: (r) => r.status, cellClass: (r) => (r.status === "OPEN" ? "bad" : "warn") },
          { label: "Location", cell: (r) => r.location ?? "—" },
          { label: "Requester", cell: (r) => r.requesterCallsign ?? "—" },
          { label: "Responder", cell: (r) => r.responderCallsign ?? "—" },
          { label: "Fired", className: "when", cell: (r) => el("span", { title: clock(r.createdAt) }, ago(r.createdAt)) },
        ],
        nodes,
        (r) => r.id,
      );
    },
  },
];

/**
 * A failure the operator can act on from its message alone (a variable to set, a port to change, a host that
 * does not answer): commands print the message as one line and exit 1, never a stack trace.
 */
export class OneLineError extends Error {}

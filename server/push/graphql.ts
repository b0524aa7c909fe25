/**
 * The browser's key is `p256dh` everywhere (PushSubscription.toJSON().keys, the runbook's REST body), so the
 * subscribePush argument keeps that name instead of the generated camelCase `p256Dh`.
 */
export const P256dhArgumentPlugin: GraphileConfig.Plugin = {
  name: "NexusP256dhArgumentPlugin",
  version: "0.0.0",
  inflection: {
    replace: {
      argument(previous, options, details) {
        return details.param.name === "p256dh" ? "p256dh" : previous!(details);
      },
    },
  },
};

/**
 * Keep a table's `id` column called `id` in GraphQL. PostGraphile renames it `rowId` to make room for Relay
 * global ids; we switch those off (NodePlugin) because the frontend and the runbook's SQL know rows by their uuid.
 */
export const PlainIdsPlugin: GraphileConfig.Plugin = {
  name: "NexusPlainIdsPlugin",
  version: "1.0.0",
  after: ["PgAttributesPlugin"],
  inflection: {
    replace: {
      _attributeName(previous, options, details) {
        const name = previous!(details);
        if (name !== "row_id" || details.skipRowId) return name;
        const attribute = details.codec.attributes[details.attributeName];
        const original = attribute?.extensions?.tags?.name || details.attributeName;
        return String(original).toLowerCase() === "id" ? "id" : name;
      },
    },
  },
};

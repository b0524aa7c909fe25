// Grafast reads GRAPHILE_ENV when it is first imported: set it from NODE_ENV before anything imports PostGraphile.
process.env.GRAPHILE_ENV ??= process.env.NODE_ENV === "production" ? "production" : "development";

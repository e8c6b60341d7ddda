// PostGraphile v5 on papergraph's own tables (bench/peer.sh), from ../shared/perf/postgraphile.
// Environment: DATABASE_URL, HOST (default 127.0.0.1), PORT (default 5678), PG_POOL_MAX (default 10),
// WEBSOCKETS=1 to enable GraphQL over WebSocket (the schema has no subscriptions of its own).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString:
        process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/papergraph_peer",
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PG_POOL_MAX ?? 10) },
    }),
  ],
  grafserv: {
    host: process.env.HOST ?? "127.0.0.1",
    port: Number(process.env.PORT ?? 5678),
    graphqlPath: "/graphql",
    websockets: process.env.WEBSOCKETS === "1",
  },
  grafast: { explain: false },
};
export default preset;

# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run from a slim Debian as a non-root user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# .cargo/config.toml carries the bundled SQLite's build flags.
COPY .cargo ./.cargo
COPY migrations ./migrations
COPY src ./src
COPY assets ./assets
COPY fixtures ./fixtures
COPY schema.graphql ./
RUN cargo build --release --locked --bin papergraph

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin papergraph \
 && mkdir -p /data && chown papergraph:papergraph /data
COPY --from=build /src/target/release/papergraph /usr/local/bin/papergraph
USER papergraph
WORKDIR /data
VOLUME ["/data"]
# MIMALLOC_ARENA_EAGER_COMMIT=0: mimalloc commits memory as it is used instead of whole arenas
# up front (also the built-in default now, see .cargo/config.toml; kept for builds without it).
ENV PAPERGRAPH_DATABASE_URL="sqlite:///data/papergraph.db?mode=rwc" \
    PAPERGRAPH_BIND="0.0.0.0:8000" \
    PAPERGRAPH_LOG="info" \
    MIMALLOC_ARENA_EAGER_COMMIT=0
EXPOSE 8000
STOPSIGNAL SIGTERM
ENTRYPOINT ["papergraph"]
CMD ["serve"]

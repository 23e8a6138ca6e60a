# syntax=docker/dockerfile:1.7
# The everfit image: one binary (API and worker), built in a Rust image,
# run as a non-root user on Debian slim.
#
#   docker build -t everfit .
#   docker run -p 3000:3000 -e MASTER_KEY=... -e CURSOR_SECRET=... everfit   # embedded SQLite store
#   docker compose up -d                                                     # MongoDB + Redis (docs/operations.md)
#
# The image runs in production mode: it refuses to start without MASTER_KEY
# and CURSOR_SECRET (exit 2, naming them).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
# The built-in WASM components are committed in plugins/dist/ and embedded
# by include_bytes!, so the image needs no WASM toolchain.
COPY . .
# The registry and target folders live in BuildKit cache mounts, so a source
# change rebuilds only the workspace crates. The binary is copied out of the
# cached target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin everfit \
 && install -D -m 0755 target/release/everfit /out/everfit

FROM debian:bookworm-slim AS runtime
# TLS roots for mongodb+srv:// / rediss:// (rustls reads the system store).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/everfit --create-home everfit
COPY --from=builder /out/everfit /usr/local/bin/everfit
USER everfit
WORKDIR /var/lib/everfit
ENV EVERFIT_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    SQLITE_PATH=/var/lib/everfit/everfit.db \
    LOG_FORMAT=json
EXPOSE 3000
# No curl in the image: bash's /dev/tcp sends the request. The worker
# (`everfit worker`) serves no HTTP, so compose disables this check for it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-3000} && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["everfit"]
CMD ["serve"]

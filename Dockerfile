# One image with both binaries: `api` (gateway, migrations, spec) and `worker`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependency layer: build against stub sources so edits to our code reuse it.
COPY Cargo.toml Cargo.lock ./
COPY api/Cargo.toml api/
COPY worker/Cargo.toml worker/
COPY shared/Cargo.toml shared/
COPY migration/Cargo.toml migration/
COPY tests/Cargo.toml tests/
RUN for c in api worker shared migration tests; do mkdir -p $c/src && echo "" > $c/src/lib.rs; done \
 && echo "fn main() {}" > api/src/main.rs && echo "fn main() {}" > worker/src/main.rs \
 && mkdir -p tests/src/bin && echo "fn main() {}" > tests/src/bin/test-worker.rs \
 && cargo build --release -p api -p worker || true
COPY . .
RUN touch api/src/main.rs worker/src/main.rs shared/src/lib.rs migration/src/lib.rs \
 && cargo build --release -p api -p worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /app switchboard
WORKDIR /app
COPY --from=build /src/target/release/api /src/target/release/worker /usr/local/bin/
RUN mkdir -p /app/data/files && chown -R switchboard /app/data
USER switchboard
ENV HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/data
EXPOSE 3000
CMD ["api", "serve"]

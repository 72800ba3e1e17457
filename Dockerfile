# One image for the relay, the aggregator, the dashboard and the one-shot migration job; the command picks:
#   node services/relay/dist/main.js            UDP intake -> Kafka
#   node services/aggregator/dist/main.js       Kafka -> ClickHouse (the default CMD)
#   node services/dashboard/dist/main.js        the public dashboard (HTTP, analyst user)
#   node services/ops/dist/migrate-cli.js topics + ClickHouse migrations, then exits
#   node services/ops/dist/<command>-cli.js    the operator commands (report, backup, restore, ...)
# NODE_IMAGE is the official image in real deployments; this repository's local builds pass
# localhost/parsl-usage/node:20 (infra/images/node.Containerfile) because no registry is reachable.
ARG NODE_IMAGE=node:20-bookworm-slim

# Every workspace's manifest: npm ci checks them all against package-lock.json.
FROM ${NODE_IMAGE} AS manifests
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY services/common/package.json services/common/
COPY services/relay/package.json services/relay/
COPY services/aggregator/package.json services/aggregator/
COPY services/ops/package.json services/ops/
COPY services/dashboard/package.json services/dashboard/
COPY kit/package.json kit/
COPY test/package.json test/

# Compile: dev dependencies (TypeScript) for the four packages the image runs.
FROM manifests AS build
RUN npm ci --no-audit --no-fund --loglevel=error --include-workspace-root \
      --workspace=schemas --workspace=services/common --workspace=services/relay \
      --workspace=services/aggregator --workspace=services/ops --workspace=services/dashboard
COPY tsconfig.base.json ./
COPY schemas/ schemas/
COPY services/common/ services/common/
COPY services/relay/ services/relay/
COPY services/aggregator/ services/aggregator/
COPY services/ops/ services/ops/
COPY services/dashboard/ services/dashboard/
RUN npx tsc -b schemas services/common services/relay services/aggregator services/ops services/dashboard

# Runtime dependencies only.
FROM manifests AS deps
RUN npm ci --no-audit --no-fund --loglevel=error --omit=dev \
      --workspace=schemas --workspace=services/common --workspace=services/relay \
      --workspace=services/aggregator --workspace=services/ops --workspace=services/dashboard

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    RELAY_SPOOL_DIR=/var/lib/parsl-usage/spool
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY schemas/package.json schemas/
COPY services/common/package.json services/common/
COPY services/relay/package.json services/relay/
COPY services/aggregator/package.json services/aggregator/
COPY services/ops/package.json services/ops/
COPY services/dashboard/package.json services/dashboard/
COPY services/dashboard/public services/dashboard/public
COPY --from=build /app/schemas/dist schemas/dist
COPY --from=build /app/services/common/dist services/common/dist
COPY --from=build /app/services/relay/dist services/relay/dist
COPY --from=build /app/services/aggregator/dist services/aggregator/dist
COPY --from=build /app/services/ops/dist services/ops/dist
COPY --from=build /app/services/dashboard/dist services/dashboard/dist
# migrate-cli reads them from ../../../infra/clickhouse/migrations relative to services/aggregator/dist.
COPY infra/clickhouse/migrations infra/clickhouse/migrations
# The relay's disk spool (mount a volume here so it survives the container).
RUN mkdir -p /var/lib/parsl-usage/spool && chown node:node /var/lib/parsl-usage/spool
USER node
CMD ["node", "services/aggregator/dist/main.js"]

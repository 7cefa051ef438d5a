# syntax=docker/dockerfile:1
# The server image: build the production artifact (`pnpm artifact`), then run it on a distroless Node
# runtime as a non-root user. No secret is ever an ARG, ENV or file here: keys arrive at run time from
# the environment (or mounted files). Build: docker build -t verifieddit-server .
# Run:   docker run -e NODE_ENV=production -e DATABASE_URL=… -e STRIPE_SECRET_KEY=… … -p 8080:8080 verifieddit-server
# Migrate (once per release, before the new replicas): docker run … verifieddit-server migrate

FROM node:22-bookworm-slim AS build
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH TURBO_TELEMETRY_DISABLED=1 CI=true
RUN npm install -g pnpm@12.21.0
WORKDIR /src
# Dependencies first, from the lockfile alone, so source edits reuse this layer.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile \
 && pnpm artifact --out /artifact

FROM gcr.io/distroless/nodejs22-debian12:nonroot AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
# Root-owned and read-only for the server's user: the process cannot rewrite its own code.
COPY --from=build /artifact /app
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/nodejs/bin/node", "/app/index.js"]

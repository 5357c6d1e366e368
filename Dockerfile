# fm-auth: built JavaScript on distroless Node 24 (no shell, no package manager), non-root.
# Build: docker build -t fm-auth:0.1.0 .   Run: see docker-compose.yml and DEPLOYMENT.md.
# Base images are pinned by version; pin them by digest too for reproducible builds
# (docker buildx imagetools inspect node:24.22.3-bookworm-slim, likewise the distroless one).

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/build.ts scripts/build-client.ts ./scripts/
COPY src ./src
# One bundle of the service and its JavaScript dependencies (scripts/build.ts); the one package it
# leaves out and the image needs is argon2, a native addon installed here for the target platform.
RUN npm run build

FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="fm-auth" \
      org.opencontainers.image.description="Multi-tenant enterprise authentication service" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/faultmaven/fm-auth"
ENV NODE_ENV=production \
    PORT=8000 \
    UV_THREADPOOL_SIZE=4
WORKDIR /app
# The code is root-owned and read-only to the service (user 65532).
COPY --from=build --chown=root:root /app/node_modules/@node-rs ./node_modules/@node-rs
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root spec ./spec
COPY --chown=root:root drizzle ./drizzle
USER 65532
EXPOSE 8000
STOPSIGNAL SIGTERM
# No shell or curl in the image: a node script asks /health/live.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD ["/nodejs/bin/node", "dist/healthcheck.js"]
# Migrations run at start-up; SIGTERM drains in-flight requests, then exits 0.
CMD ["dist/main.js"]

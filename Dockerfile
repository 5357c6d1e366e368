# fm-auth: the service runs its TypeScript through tsx, so the image is dependencies + sources.
# Build: docker build -t fm-auth:0.1.0 .   Run: see docker-compose.yml and DEPLOYMENT.md.

FROM node:20.20-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; argon2 and esbuild come as prebuilt glibc binaries.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8000 \
    DATA_DIR=/app/data \
    UV_THREADPOOL_SIZE=4
WORKDIR /app
COPY --from=dependencies --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --chown=root:root spec ./spec
COPY --chown=root:root drizzle ./drizzle
COPY --chown=root:root src ./src
# The code is root-owned and read-only to the service; only the embedded database's folder is its own.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8000
VOLUME ["/app/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's child under `init: true` (compose) or --init (docker run), and handles SIGTERM.
CMD ["node", "--import", "tsx", "src/main.ts"]

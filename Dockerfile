# syntax=docker/dockerfile:1
# Servauth: Bun runs the TypeScript sources as they are, so there is no build step, only dependencies. Both tags pin
# the "bun" version of package.json (tests/e2e/container.test.ts fails when they drift apart).

FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Bun applies this patch of postgres.js itself (package.json "patchedDependencies"; see src/db/postgres-patch.ts).
COPY patches/bun ./patches/bun
# Production dependencies, exactly as locked, and no install scripts: the image needs none (the patch above is not
# one), and swagger-ui-dist's telemetry dependency must not run. The npm "bun" package is the runtime for
# `npm start` outside a container (about 100 MB); the image brings its own Bun.
RUN bun install --production --frozen-lockfile --ignore-scripts \
 && rm -rf node_modules/bun node_modules/@oven node_modules/.bin/bun node_modules/.bin/bunx

FROM oven/bun:1.4.5-slim
WORKDIR /app
# Production demands APP_URL and AUTH_SECRET (or AUTH_SECRET_FILE) at run time; the server refuses to start without.
ENV NODE_ENV=production \
    DATA_DIR=/app/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The embedded database (when DATABASE_URL is unset) lives in /app/data, and docker-compose.yml keeps a generated
# AUTH_SECRET in /app/secret: mount volumes on them to keep them (a new volume takes this owner and mode).
RUN mkdir -p /app/data /app/secret && chown bun:bun /app/data /app/secret && chmod 700 /app/secret
USER bun
EXPOSE 3000
# No curl in the image: Bun itself asks /health.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD bun -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# `serve` applies pending migrations before it listens. Exec form: Bun is PID 1 and gets SIGTERM for a graceful stop.
CMD ["bun", "src/cli/main.ts", "serve"]

# syntax=docker/dockerfile:1
# One image for every tokenstorm program: `mock`, `serve` (the default) and `run`.
#   docker build -t tokenstorm .
#   docker run --rm -p 8080:8080 -p 9464:9464 tokenstorm            # reference server, offline
#   docker compose up                                               # the observability stack
ARG NODE_VERSION=20

# Build: dev dependencies and the TypeScript compiler; produces dist/.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: production dependencies, the compiled CLI, the scenarios; runs as the non-root `node` user.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY scenarios ./scenarios
USER node
# 8080 serve, 8081 mock, 9464 serve metrics, 9465 run metrics, 9466 mock metrics
EXPOSE 8080 8081 9464 9465 9466
# GET $HEALTHCHECK_URL must answer 2xx: /healthz of serve (8080) or of the mock (set 8081 for it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/tokenstorm.js"]
CMD ["serve", "--host", "0.0.0.0"]

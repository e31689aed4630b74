# syntax=docker/dockerfile:1
# Build: docker build -t spanline .
# Run:   docker run -p 9411:9411 -p 13133:13133 -p 8888:8888 -v spanline-data:/app/data spanline
#        (mount your own config and pass --config /etc/spanline/config.yaml to replace the default)

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm ci runs the `prepare` script, which compiles src/ to dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json config.example.yaml ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 9411 13133 8888
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:13133/').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM from `docker stop` drains batches and queues (service.shutdown_timeout, 30s by default);
# give it that long: docker stop -t 35.
STOPSIGNAL SIGTERM
# The V8 flag is the one in dist/cli.js's shebang (see src/cli.ts).
ENTRYPOINT ["node", "--max-semi-space-size=64", "dist/cli.js"]

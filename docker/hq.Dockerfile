# The HQ-compatible service (hq: web workers and pillows) as one image; the compose file runs it with a
# different command per process. Built from this repository: context is the repository root
#   docker build -f docker/hq.Dockerfile -t capacity-hq .
# Only what the service needs is sent to the builder (docker/hq.Dockerfile.dockerignore).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly, as on the local stack. --ignore-scripts: no native add-ons are
# needed by the service (canvas and ssh2's cpu-features are for reports and testcontainers on the host).
RUN npm ci --include=dev --ignore-scripts --no-audit --no-fund --loglevel=error && npm cache clean --force
COPY tsconfig.json ./
COPY generators ./generators
COPY core ./core
COPY hq ./hq
RUN mkdir -p /data/blobs && chown -R node:node /data
USER node
# A web worker by default; the compose file sets the command of each process.
CMD ["node", "--import", "tsx", "hq/web.ts", "--host", "0.0.0.0", "--port", "8000", "--pg-url", "postgres://capacity:capacity@postgres:5432/commcarehq", "--kafka", "kafka:9092", "--es", "http://elasticsearch:9200", "--blobs", "/data/blobs"]

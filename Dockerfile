# The NomadNexus backend image: one image, three roles chosen by the command (docker-compose.yml):
#   node main.ts --server     API server (stateless, any number)
#   node main.ts --worker     graphile-worker runner (any number)
#   node cli/nexus.ts db migrate     schema migration, once per release
# Node 24 runs the TypeScript sources directly (type stripping); there is no build step.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
# npm ci runs the postinstall script: it applies the reviewed dependency patches (docs/upstream.md).
COPY scripts/postinstall.mjs scripts/dependency-patches.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY cli ./cli
COPY db ./db
COPY core ./core
COPY server ./server
COPY worker ./worker
COPY main.ts tsconfig.json ./

USER node
EXPOSE 4000
CMD ["node", "main.ts", "--server"]

# syntax=docker/dockerfile:1
# One image for every KVRaft role: the chart runs `kvraft operator`, and the operator's
# manifests run `kvraft coord` and `kvraft server`; each passes its verb and flags as the
# container's args after the entrypoint. test/chart/ checks that every such command is a
# verb this program has, with flags that verb accepts.
#
#   docker build -t kvraft:0.1.0 .
#   docker run --rm kvraft:0.1.0 --help
#
# The code runs on Node 20.19 and newer (package.json "engines"); the image uses the
# current LTS line.
#
# The base is pinned by digest: a tag moves whenever its publisher pushes to it, a digest
# names one image for good (and Docker Hub serves a digest only from library/node, so the
# pin cannot be swapped for someone else's image). The digest is the multi-arch index of
# node:26-trixie-slim as published for Node 26.10.0 (the same index as node:26.10.0-trixie-slim
# and node:26-slim then). It was read from public Dockerfiles that pin this tag, not pulled
# here: check it with `docker buildx imagetools inspect node:26.10.0-trixie-slim` before a
# release. The tag in front of @ is not used by docker once a digest is given: when the tag
# changes (a newer Node 26, another Debian release), change the digest with it, to the
# index digest `docker buildx imagetools inspect <new tag>` prints.
ARG NODE_IMAGE=node:26-trixie-slim@sha256:930557a230abacbc3f4fd9b8648abf8f4bee1e17cb72195dcdfb2f709bc85b33

# 1. Build: every dependency (the TypeScript compiler is a dev dependency), then src/ -> dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build --silent

# 2. Production dependencies only, from the same lock file. No production dependency has
#    an install script (a test checks), so none is run. npm's download cache is a build
#    cache mount (kept between builds, never in a layer).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Runtime: node, the production dependencies and dist/; no compiler, no sources, no npm cache.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /build/dist ./dist
# package.json says "type": "module": dist/ is ES modules and does not load without it.
COPY package.json ./
# The base image's own non-root user `node`, by number so that the kubelet can verify a
# pod's runAsNonRoot; the operator's server pods and the chart run as this id too.
USER 1000:1000
# A member's V8 flags (src/server/member-node-flags.ts says why; a test keeps the two
# alike). Every role runs this entrypoint; for the others the flag changes nothing.
ENTRYPOINT ["node", "--initial-old-space-size=64", "dist/cli.js"]
CMD ["--help"]

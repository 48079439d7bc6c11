# syntax=docker/dockerfile:1
# Container images of m2-cluster, the ones helm/m2-cluster runs (one repository, two tags):
#   docker build --target cpu  -t m2-cluster:0.1.0-cpu  .   router, CPU workers, helm test hook
#   docker build --target cuda -t m2-cluster:0.1.0-cuda .   GPU workers (CUDA kernels, NCCL)
# Both run `m2` (bin/m2.js through the tsx loader) as the unprivileged user 1000.

ARG NODE_VERSION=20.20.2
ARG CUDA_VERSION=12.6.3
ARG CUDA_OS=ubuntu24.04

# Node 20 itself, reused as the CPU base and copied into the CUDA images.
FROM node:${NODE_VERSION}-bookworm-slim AS node

# ---- CPU flavour ------------------------------------------------------------------------------
FROM node AS cpu-build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Headers of the image's own Node: node-gyp then needs no download.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json binding.gyp ./
COPY kernels/ kernels/
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .

FROM node AS cpu
ENV NODE_ENV=production
WORKDIR /app
COPY --from=cpu-build /app /app
RUN ln -s /app/bin/m2.js /usr/local/bin/m2
USER 1000:1000
EXPOSE 8000 50051 50061 9061 50071 9071
ENTRYPOINT ["m2"]

# ---- CUDA flavour -----------------------------------------------------------------------------
FROM nvidia/cuda:${CUDA_VERSION}-devel-${CUDA_OS} AS cuda-build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/include/node /usr/local/include/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
# nvcc is present but no GPU is visible while building: ask for the CUDA kernels explicitly.
ENV npm_config_nodedir=/usr/local M2_BUILD_CUDA=1
COPY package.json package-lock.json binding.gyp ./
COPY kernels/ kernels/
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .

# The runtime image carries the CUDA runtime libraries and libnccl2 (NCCL is dlopen'ed at run time).
FROM nvidia/cuda:${CUDA_VERSION}-runtime-${CUDA_OS} AS cuda
ENV NODE_ENV=production
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=cuda-build /app /app
RUN ln -s /app/bin/m2.js /usr/local/bin/m2
USER 1000:1000
EXPOSE 50061 9061 50071 9071
ENTRYPOINT ["m2"]

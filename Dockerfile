# One image for every HCFL service: the anvil dev chain, the coordinator and the aggregator daemons.
# Build: docker build -t hcfl .   (needs network access to the package registries at build time only)
FROM python:3.11-slim

# torch==2.13.0+cpu (pinned in requirements.lock) comes from PyTorch's CPU wheel index
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_EXTRA_INDEX_URL=${TORCH_INDEX} \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm make git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
RUN make install && rm -rf /root/.cache
ENV PATH=/app/.venv/bin:/app/node_modules/.bin:$PATH

EXPOSE 8000 8545
CMD ["hcfl", "--help"]

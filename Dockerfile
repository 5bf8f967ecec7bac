# syntax=docker/dockerfile:1
# 效能 Xiaoneng: one image for all five services; the command picks the service.
#
#   docker build -t xiaoneng:0.1.0 .
#   docker run --rm -e SERVICE=gateway -e XN_JWT_SECRET=... -p 8000:8000 xiaoneng:0.1.0
#   docker run --rm xiaoneng:0.1.0 python -m shared.migrations gateway     # migrations
#
# The base is pinned to an exact Python patch release on Debian 12. For a reproducible production
# build pin its digest too (`--build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:...`,
# the digest from `docker buildx imagetools inspect python:3.11.14-slim-bookworm`).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: resolve nothing, install exactly uv.lock (no dev dependencies) into /app/.venv ------
FROM ${PYTHON_IMAGE} AS builder

# Same uv as the Makefile (UV_VERSION), from PyPI.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app
# The lock first, so code changes do not reinstall the dependencies.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

COPY shared ./shared
COPY services ./services
# The code's own bytecode, written now because the running container's root filesystem is read-only.
RUN python -m compileall -q shared services

# --- runtime: the interpreter, the virtualenv and the code; no pip, uv or compilers ---------------
FROM ${PYTHON_IMAGE} AS runtime

# pip and setuptools of the base image are not needed at run time.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 xiaoneng \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin xiaoneng

ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    SERVICE=gateway \
    XN_ENVIRONMENT=production \
    XN_LOG_JSON=true \
    XN_MIGRATE_ON_START=false

WORKDIR /app
COPY --from=builder --chown=root:root /app /app

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000

# SERVICE: gateway | disclosure | coordination | indicators | evaluation. Kubernetes sets the
# command explicitly (deploy/k8s); this default serves `docker run -e SERVICE=...`.
CMD ["sh", "-c", "exec uvicorn \"services.${SERVICE}.app:create_app\" --factory --host 0.0.0.0 --port 8000 --timeout-graceful-shutdown 20 --no-server-header --no-proxy-headers --no-access-log"]

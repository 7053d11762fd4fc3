# The hub image: one image, every `hub` sub-command (worker, gateway, topics create, systems ...).
#   docker build -t commune-hub .          docker run --rm commune-hub --help
# docker-compose.yml runs it against the apache/kafka image.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs at run time (.dockerignore keeps var/, .venv/ and caches out).
# README.md is read by pyproject.toml; the .avsc files and their id lock are package data in
# hub/schemas (HUB_SCHEMAS_DIR defaults to them). Writable defaults go under HUB_DATA_DIR: ./var
# of the working directory, /app/var.
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY connectors ./connectors

# The pinned dependencies from pyproject.toml (DESIGN §5); every one ships a manylinux wheel for
# CPython 3.11, so no compiler is needed. `pip check` fails the build on a conflict.
RUN pip install -e . && pip check
# The image runs the normalize hot path as pure Python: the slim image has no C compiler for the
# mypyc build `make setup` does (hub/_native.py; about 1.4x less CPU per event in the mapping).

# Non-root at run time. The worker's table state (HUB_WORKER_DATA_DIR) lives under /var/lib/hub,
# created here owned by the hub user so that a named volume mounted there inherits the ownership.
RUN groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid hub --home-dir /home/hub --create-home --shell /usr/sbin/nologin hub \
 && mkdir -p /var/lib/hub/worker /app/var \
 && chown -R hub:hub /var/lib/hub /app/var
USER hub

ENV HUB_WORKER_DATA_DIR=/var/lib/hub/worker

ENTRYPOINT ["hub"]
CMD ["--help"]

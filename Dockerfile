# One image for the API and every worker: `ticketing api`, `ticketing worker NAME`, `ticketing migrate`.
# Built from the lock file with uv; runs as an unprivileged user; production mode by default.

FROM python:3.11-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.9.*
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
# The dependencies first, in a layer of their own: a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY src ./src
COPY migrations ./migrations
RUN uv sync --locked --no-dev

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 ticketing \
    && useradd --system --uid 10001 --gid ticketing --home-dir /app --shell /usr/sbin/nologin ticketing
WORKDIR /app
COPY --from=build --chown=root:root /app /app
USER ticketing
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TICKETING_ENVIRONMENT=production \
    TICKETING_LOG_FORMAT=json \
    TICKETING_API_HOST=0.0.0.0 \
    TICKETING_API_PORT=8000
EXPOSE 8000
# The API answers /healthz; a worker answers on its TICKETING_METRICS_PORT (see `ticketing probe`).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["ticketing", "probe"]
ENTRYPOINT ["ticketing"]
CMD ["api"]

# syntax=docker/dockerfile:1
# visit-planner API image. Migrations are a separate step: `visit-planner migrate`
# (compose.yaml runs it as the `migrate` service before `api` starts).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# README.md is the package's long description, so setuptools needs it to build.
COPY pyproject.toml README.md ./
COPY app ./app
COPY solver ./solver
COPY models ./models
COPY migrations ./migrations
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --user-group --home-dir /srv --shell /usr/sbin/nologin app \
    && mkdir -p /srv/var \
    && chown -R app:app /srv
COPY --from=build /opt/venv /opt/venv
# The default SQLite URL (sqlite:///var/visit-planner.db) is relative: it lands in /srv/var.
WORKDIR /srv
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
CMD ["visit-planner", "serve", "--host", "0.0.0.0", "--port", "8000"]

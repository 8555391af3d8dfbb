# responder in a small image: a non-root user, configuration and data on a volume, secrets from
# the environment. Build: docker build -t responder .
# Run:   docker run -v "$PWD/data:/data" -e IMAP_PASSWORD -e SMTP_PASSWORD -p 8000:8000 responder
# /data/config.yaml must set server.host: 0.0.0.0 for the port to be reachable from outside.
# responder runs as uid 10001 and writes under /data (the database, Maildir folders): a host folder
# bind-mounted there must be writable by that uid (chown 10001 data); a named volume already is.
FROM python:3.12-slim AS build
RUN python -m venv /opt/responder
COPY pyproject.toml README.md /src/
COPY responder /src/responder
COPY templates /src/templates
RUN /opt/responder/bin/pip install --no-cache-dir /src

FROM python:3.12-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin responder \
    && mkdir -p /data && chown responder /data
COPY --from=build /opt/responder /opt/responder
# MALLOC_ARENA_MAX: glibc gives each worker thread its own memory arena; two are plenty here and
# keep serve's resident size down when many threads are busy at once.
ENV PATH=/opt/responder/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    RESPONDER_CONFIG=/data/config.yaml
USER responder
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["responder", "serve"]

# Callbridge: Deno service answering Twilio calls with OpenAI agents.
# Pinned base: the Deno version the project is tested with, from .dvmrc (build with
# --build-arg DENO_VERSION=$(cat .dvmrc); the default below is checked against it by a test).
ARG DENO_VERSION=2.9.6
FROM denoland/deno:${DENO_VERSION}

WORKDIR /app
# The KV file lives on a volume at /app/data: the one folder the service may write to (deno.json's
# "service" permission set), owned by the image's unprivileged `deno` user.
RUN mkdir -p /app/data && chown deno:deno /app /app/data
USER deno

# Dependencies first: this layer is rebuilt only when deno.json or deno.lock change.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

# Then the code, type-checked and cached at build time (no downloads at start-up).
COPY --chown=deno:deno . .
RUN deno install --frozen --entrypoint main.ts

ENV PORT=8000 \
    HOSTNAME=0.0.0.0 \
    KV_PATH=/app/data/callbridge.kv \
    LOG_LEVEL=info
VOLUME ["/app/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '8000') + '/health'); if (!r.ok) Deno.exit(1);"]

# SIGTERM drains: no new calls, live calls get DRAIN_SECONDS, records flushed, exit 0.
STOPSIGNAL SIGTERM
# The permissions are deno.json's "service" set, the same as `deno task start` (a test compares
# the two): network, environment, reading, writing data/ only, and the CA store (sys "ca") that
# the twilio SDK's TLS needs.
CMD ["deno", "run", "--cached-only", "-P=service", "main.ts"]

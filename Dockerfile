# Callbridge: Deno service answering Twilio calls with OpenAI agents.
# Pinned base (the Deno version the project is tested with).
FROM denoland/deno:2.9.6

WORKDIR /app
# The KV file lives on a volume, owned by the image's unprivileged `deno` user.
RUN mkdir -p /data && chown deno:deno /data /app
USER deno

# Dependencies first: this layer is rebuilt only when deno.json or deno.lock change.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

# Then the code, type-checked and cached at build time (no downloads at start-up).
COPY --chown=deno:deno . .
RUN deno install --frozen --entrypoint main.ts

ENV PORT=8000 \
    HOSTNAME=0.0.0.0 \
    KV_PATH=/data/callbridge.kv \
    LOG_LEVEL=info
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '8000') + '/health'); if (!r.ok) Deno.exit(1);"]

# SIGTERM drains: no new calls, live calls get DRAIN_SECONDS, records flushed, exit 0.
STOPSIGNAL SIGTERM
CMD ["deno", "run", "--cached-only", "--allow-net", "--allow-env", "--allow-read", "--allow-write=/data", "main.ts"]

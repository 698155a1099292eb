# ctmp-emulator: the CleverTap and mParticle server API emulator in a container.
#   docker build -t ctmp-emulator .
#   docker run --rm -p 8787:8787 ctmp-emulator
#   docker run --rm -p 8787:8787 ctmp-emulator --seed 1     (arguments are `serve` flags)
#   docker run --rm -p 8787:8787 -p 443:443 -v ctmp-data:/data ctmp-emulator --tls
#       (HTTPS with the platforms' host names on 443, CA kept in /data: docs/https.md)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Build from a copy of the sources and install non-editable (the wheel carries the JSON
# contracts as emulator/_contracts), then drop the copy.
WORKDIR /tmp/src
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY contracts ./contracts
# uvicorn[standard] also brings --reload's file watcher, WebSocket support and .env loading,
# which the emulator never uses: the image leaves them out (uvloop and httptools stay).
RUN pip install --no-cache-dir . \
    && pip uninstall --yes watchfiles websockets python-dotenv \
    && cd / && rm -rf /tmp/src

RUN useradd --create-home --uid 10001 emulator \
    && mkdir /data && chown emulator:emulator /data
USER emulator
WORKDIR /home/emulator

# Every `serve` flag has a variable (README, "Flags"): the host and port are set here, so that
# arguments after the image name add flags without dropping them. Change the port with
# `-e CTMP_PORT=...` (the health check follows it), not with `--port`.
# With `--tls` (or CTMP_TLS=1) the platforms' clients connect to 443, their default: a non-root
# user may bind it here, since Docker sets net.ipv4.ip_unprivileged_port_start=0 in a
# container's network namespace. The CA is kept in /data (mount a volume to trust it once).
ENV CTMP_HOST=0.0.0.0 \
    CTMP_PORT=8787 \
    CTMP_TLS_PORT=443 \
    CTMP_CA_DIR=/data
EXPOSE 8787 443
# python, not curl (slim has none). Health needs no admin token, even with --admin-token.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['CTMP_PORT']}/_emulator/health\", timeout=2)"]

# Inside the container the emulator binds 0.0.0.0; outside, publish it on loopback if you can
# (`-p 127.0.0.1:8787:8787`). Add `--data-file /data/state.json` (or `-e CTMP_DATA_FILE=...`)
# with a volume on /data to keep the state across restarts.
ENTRYPOINT ["ctmp-emulator", "serve"]

# ctmp-emulator: the CleverTap and mParticle server API emulator in a container.
#   docker build -t ctmp-emulator .
#   docker run --rm -p 8787:8787 ctmp-emulator
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
RUN pip install --no-cache-dir . && cd / && rm -rf /tmp/src

RUN useradd --create-home --uid 10001 emulator \
    && mkdir /data && chown emulator:emulator /data
USER emulator
WORKDIR /home/emulator

EXPOSE 8787
# python, not curl (slim has none). Health needs no admin token, even with --admin-token.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/_emulator/health', timeout=2)"]

# Inside the container the emulator binds 0.0.0.0; outside, publish it on loopback if you can
# (`-p 127.0.0.1:8787:8787`). Add `--data-file /data/state.json` with a volume on /data to keep
# the state across restarts.
CMD ["ctmp-emulator", "serve", "--host", "0.0.0.0", "--port", "8787"]

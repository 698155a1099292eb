"""The Docker image and the compose example of docs/https.md, checked against the running
emulator: every network alias the example gives is a platform host its certificate names (a
handshake trusting only the CA), and the image listens for HTTPS on 443."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
import yaml

from tests.core.test_cli_operations import _dockerfile
from tests.drivers.tls import TlsEmulator, is_platform_host

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docs" / "examples" / "docker-compose.tls.yml"


def _aliases() -> list[str]:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    aliases: list[str] = compose["services"]["emulator"]["networks"]["default"]["aliases"]
    return aliases


def _handshake(tls: TlsEmulator, name: str) -> str:
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    with (
        socket.create_connection(("127.0.0.1", tls.tls_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as wrapped,
    ):
        return str(wrapped.version())


def test_every_alias_of_the_compose_example_is_in_the_certificate(tls: TlsEmulator) -> None:
    aliases = _aliases()
    # The clients' defaults: CleverTap's region hosts, mParticle's S2S pods and the Web SDK's.
    for name in ("eu1.api.clevertap.com", "s2s.mparticle.com", "s2s.eu1.mparticle.com"):
        assert name in aliases
    for name in [*aliases, "jssdks.us1.mparticle.com", "localhost"]:
        assert name == "localhost" or is_platform_host(name), name
        assert _handshake(tls, name) in ("TLSv1.2", "TLSv1.3"), name
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls, "example.com")


def test_the_image_serves_https_on_443_with_the_ca_in_data() -> None:
    docker = _dockerfile()
    env = " ".join(docker["ENV"])
    assert "CTMP_TLS_PORT=443" in env
    assert "CTMP_CA_DIR=/data" in env
    assert "443" in " ".join(docker["EXPOSE"]).split()
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert "--tls" in compose["services"]["emulator"]["command"]

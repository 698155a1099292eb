"""What the TLS listener of `serve --tls` needs: the CA, the server certificate, the context."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from emulator.tls.authority import Authority, default_dir, load_or_create
from emulator.tls.certificates import ServerCertificate, issue


@dataclass(frozen=True)
class TlsSetup:
    authority: Authority
    certificate: ServerCertificate
    context: ssl.SSLContext


def authority_for(ca_dir: Path | None, data_file: Path | None) -> Authority:
    """The CA of `--ca-dir`, else of `--data-file`'s directory, else of the user's."""
    return load_or_create(ca_dir if ca_dir is not None else default_dir(data_file))


def server_context(certificate: ServerCertificate) -> ssl.SSLContext:
    """A server context with the certificate chain (TLS 1.2 and 1.3, HTTP/1.1 by ALPN)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    # `load_cert_chain` reads files only: they live as long as this call.
    with tempfile.TemporaryDirectory(prefix="ctmp-emulator-tls-") as folder:
        chain, key = Path(folder) / "chain.pem", Path(folder) / "key.pem"
        key.touch(mode=0o600)
        key.write_bytes(certificate.key_pem)
        chain.write_bytes(certificate.chain_pem)
        context.load_cert_chain(chain, key)
    return context


def prepare(ca_dir: Path | None, data_file: Path | None, hosts: Iterable[str]) -> TlsSetup:
    authority = authority_for(ca_dir, data_file)
    certificate = issue(authority, hosts)
    return TlsSetup(authority, certificate, server_context(certificate))

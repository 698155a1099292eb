"""The server certificate for the platforms' host names, issued by the local CA at each start.

Its names come from the surfaces' `hosts` (core/hosts.py): an exact name as it is, a `.domain`
entry as the domain and `*.domain`, plus `EXTRA_NAMES` (the pods and regions a wildcard of one
label does not cover) and the loopback names, so `https://localhost:8443/_emulator/...` works
too. It is made fresh each start (an EC key is made in a millisecond), so a change of names
never needs the CA trusted again.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emulator.tls.authority import Authority, key_usage

# Names under a `.domain` entry that `*.domain` does not cover (a wildcard is one label):
# mParticle's pods (`s2s.us1.mparticle.com`, and the Web SDK's `jssdks.us1.mparticle.com`
# with `directURLRouting`) and OAuth's `sso.auth.mparticle.com`.
EXTRA_NAMES = (
    "*.us1.mparticle.com",
    "*.us2.mparticle.com",
    "*.eu1.mparticle.com",
    "*.au1.mparticle.com",
    "*.auth.mparticle.com",
)
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")
# Under Apple's 825-day limit for any TLS server certificate, and made anew each start.
VALID_DAYS = 397


@dataclass(frozen=True)
class ServerCertificate:
    chain_pem: bytes  # the server certificate, then the CA's
    key_pem: bytes
    names: tuple[str, ...]


def dns_names(host_entries: Iterable[str]) -> tuple[str, ...]:
    """The certificate's DNS names for surface host entries (exact, or `.domain`)."""
    names: list[str] = []
    for entry in host_entries:
        if entry.startswith("."):
            names += [entry[1:], "*" + entry]
        else:
            names.append(entry)
    if any(entry.endswith("mparticle.com") for entry in host_entries):
        names += EXTRA_NAMES
    return tuple(dict.fromkeys([*names, *LOOPBACK_NAMES]))


def issue(authority: Authority, host_entries: Iterable[str]) -> ServerCertificate:
    names = dns_names(host_entries)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    alternative = [x509.DNSName(name) for name in names] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in LOOPBACK_IPS
    ]
    ca_key_id = authority.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(signs_certificates=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    chain = certificate.public_bytes(serialization.Encoding.PEM) + authority.pem
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ServerCertificate(chain, key_pem, names)

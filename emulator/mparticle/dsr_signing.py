"""OpenDSR request signing: the processor's RSA key pair, generated when the emulator starts,
and its self-signed X.509 certificate (PEM), served at the discovery document's
`processor_certificate` URL. Every submit answer and status callback carries
`X-OpenDSR-Signature`: base64 of the RSA-SHA256 (PKCS#1 v1.5) signature over the raw body
(https://docs.mparticle.com/developers/apis/dsr-api/v3/, "Callbacks";
https://github.com/opengdpr/OpenDSR, "Signing")."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

PROCESSOR_DOMAIN = "opendsr.mparticle.com"


class Signer:
    """One key pair and certificate per emulator process (never saved with the state: a
    restarted emulator serves a new certificate, as a rotated processor key would be)."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PROCESSOR_DOMAIN)])
        start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650))
            .sign(self._key, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, body: bytes) -> str:
        signature = self._key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            "X-OpenDSR-Processor-Domain": PROCESSOR_DOMAIN,
            "X-OpenDSR-Signature": self.sign(body),
        }

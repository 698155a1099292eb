"""The emulator's local certificate authority: made on first use, then loaded from its directory.

The directory is `--ca-dir`, else `--data-file`'s directory, else the user's data directory
(`$XDG_DATA_HOME/ctmp-emulator`, by default `~/.local/share/ctmp-emulator`), so a machine (or a
container volume) trusts one CA across restarts. It holds `ctmp-emulator-ca.pem` (the
certificate to trust) and `ctmp-emulator-ca-key.pem` (mode 0600). Two processes starting at
once agree on one CA: its creation holds an exclusive lock on the directory's lock file.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_FILE = "ctmp-emulator-ca.pem"
KEY_FILE = "ctmp-emulator-ca-key.pem"
LOCK_FILE = ".ctmp-emulator-ca.lock"
COMMON_NAME = "ctmp-emulator local CA"
VALID_DAYS = 3650


class AuthorityError(OSError):
    """The CA directory cannot be made, read or written: the message says which and why."""


def default_dir(data_file: Path | None) -> Path:
    """Where the CA lives when `--ca-dir` is not given."""
    if data_file is not None:
        return data_file.resolve().parent
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ctmp-emulator"


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def spki_sha256(self) -> str:
        """Base64 of the SHA-256 of the CA's SubjectPublicKeyInfo: what Chromium's
        `--ignore-certificate-errors-spki-list` takes."""
        spki = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def load_or_create(directory: Path) -> Authority:
    """The CA kept in `directory`, made there first if it holds none."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (directory / CERT_FILE).exists():
                    _create(directory)
                return _load(directory)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    except OSError as exc:
        raise AuthorityError(
            f"cannot keep the TLS certificate authority in {directory}: "
            f"{exc.strerror or exc} (choose another directory with --ca-dir)"
        ) from None


def _load(directory: Path) -> Authority:
    cert_path = directory / CERT_FILE
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), None)
    except ValueError as exc:
        raise OSError(f"{cert_path} or its key is not a PEM certificate and key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
        certificate.public_key()
    ):
        raise OSError(f"{directory / KEY_FILE} is not the key of {cert_path}")
    return Authority(certificate, key, cert_path)


def key_usage(signs_certificates: bool) -> x509.KeyUsage:
    """The EC keys sign (`digital_signature`); only the CA's signs certificates and CRLs."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _create(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ctmp-emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{COMMON_NAME} {os.urandom(4).hex()}"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            key_usage(signs_certificates=True),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key first (0600, never readable by others), the certificate last: a certificate on
    # disk means its key is there too.
    _write(directory / KEY_FILE, key_pem, 0o600)
    _write(directory / CERT_FILE, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temporary, mode)
    os.replace(temporary, path)

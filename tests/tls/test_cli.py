"""`ctmp-emulator ca` and `serve --tls` as a user runs them: the CA printed, written or hashed;
kept in `--ca-dir` (or `--data-file`'s directory, or the user's data directory) so two starts
serve certificates of one CA, trusted once."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import RunEmulator, SpawnEmulator

PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----\n.+\n-----END CERTIFICATE-----\n\Z", re.S)


def _served_chain_works(port: int, ca_pem: str, tmp_path: Path) -> str:
    """Handshake with `s2s.mparticle.com` as the name, trusting only `ca_pem`: the TLS
    version, or an ssl error."""
    cafile = tmp_path / "trusted.pem"
    cafile.write_text(ca_pem)
    context = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="s2s.mparticle.com") as tls,
    ):
        return str(tls.version())


def test_ca_prints_the_certificate_and_keeps_it(run_emulator: RunEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    first = run_emulator("ca", "--ca-dir", str(folder))
    assert first.returncode == 0, first.stderr
    assert PEM_RE.match(first.stdout), first.stdout
    certificate = x509.load_pem_x509_certificate(first.stdout.encode())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (folder / "ctmp-emulator-ca-key.pem").stat().st_mode & 0o777 == 0o600
    again = run_emulator("ca", "--ca-dir", str(folder))
    assert again.stdout == first.stdout  # made once, then kept

    out = tmp_path / "trust" / "ca.pem"
    out.parent.mkdir()
    written = run_emulator("ca", "--out", str(out), env={"CTMP_CA_DIR": str(folder)})
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert out.read_text() == first.stdout
    assert str(out) in written.stderr

    spki = run_emulator("ca", "--ca-dir", str(folder), "--spki")
    der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki.stdout.strip() == base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_the_ca_lives_beside_the_data_file_or_in_the_users_data_dir(
    run_emulator: RunEmulator, tmp_path: Path
) -> None:
    data = tmp_path / "state" / "emulator.json"
    data.parent.mkdir()
    beside = run_emulator("ca", "--data-file", str(data))
    assert beside.returncode == 0, beside.stderr
    assert (data.parent / "ctmp-emulator-ca.pem").read_text() == beside.stdout
    home = tmp_path / "xdg"
    user = run_emulator("ca", env={"XDG_DATA_HOME": str(home)})
    assert user.returncode == 0, user.stderr
    assert (home / "ctmp-emulator" / "ctmp-emulator-ca.pem").read_text() == user.stdout
    assert user.stdout != beside.stdout


def test_a_ca_dir_that_cannot_be_written_is_one_line(
    run_emulator: RunEmulator, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    refused = run_emulator("ca", "--ca-dir", str(blocker / "ca"))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "--ca-dir" in refused.stderr and str(blocker) in refused.stderr


def test_two_starts_with_one_ca_dir_are_trusted_once(
    spawn_emulator: SpawnEmulator, run_emulator: RunEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "ca"
    ports = []
    for _ in range(2):
        process = spawn_emulator("--tls", "--tls-port", "0", "--ca-dir", str(folder))
        https = process.next_line()
        match = re.match(
            r"ctmp-emulator https on https://127\.0\.0\.1:(\d+) .*trust the CA (\S+)", https
        )
        assert match, https
        assert match[2] == str(folder / "ctmp-emulator-ca.pem")
        ports.append(int(match[1]))
        ca_pem = run_emulator("ca", "--ca-dir", str(folder)).stdout
        assert _served_chain_works(ports[-1], ca_pem, tmp_path) in ("TLSv1.2", "TLSv1.3")
        assert process.stop() == 0
    assert len(list(folder.glob("*.pem"))) == 2  # one CA and its key, nothing more


def test_a_tls_port_in_use_is_one_line(run_emulator: RunEmulator, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = run_emulator(
            "serve", "--port", "0", "--tls", "--tls-port", str(port), "--ca-dir", str(tmp_path)
        )
    assert refused.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in refused.stderr
    assert "--tls-port 0" in refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr


def test_tls_from_the_config_file(spawn_emulator: SpawnEmulator, tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text('[emulator]\ntls = true\ntls_port = 0\nca_dir = "ca"\n')
    process = spawn_emulator("--config", str(config))
    assert process.next_line().startswith("ctmp-emulator https on https://127.0.0.1:")
    assert (tmp_path / "ca" / "ctmp-emulator-ca.pem").exists()  # relative to the file

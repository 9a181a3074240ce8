"""A throw-away certificate authority made with the openssl command: CA, broker certificate, client certificate."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a second, unrelated CA: the broker must not trust what it signed


def _run(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    result = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key.name, "-out", cert.name, "-days", "2", "-subj", f"/CN=Hermesh test {name}",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         cwd=directory)
    return key, cert


def _signed(directory: Path, name: str, ca_key: Path, ca_cert: Path, extensions: str) -> tuple[Path, Path]:
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.crt"
    ext = directory / f"{name}.ext"
    ext.write_text(extensions + "\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    _run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.name,
         "-out", csr.name, "-subj", f"/CN={name}", cwd=directory)
    _run("x509", "-req", "-in", csr.name, "-CA", ca_cert.name, "-CAkey", ca_key.name, "-CAcreateserial",
         "-out", cert.name, "-days", "2", "-extfile", ext.name, cwd=directory)
    return key, cert


def make_pki(directory: Path) -> Pki:
    if OPENSSL is None:
        pytest.fail("the openssl command is missing (apt-get install openssl); the TLS tests generate their CA with it")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca(directory, "ca")
    server_key, server_cert = _signed(
        directory, "localhost", ca_key, ca_cert,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
    )
    client_key, client_cert = _signed(
        directory, "satellite", ca_key, ca_cert,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth",
    )
    _, other_ca = _ca(directory, "other-ca")
    return Pki(ca_cert, server_cert, server_key, client_cert, client_key, other_ca)

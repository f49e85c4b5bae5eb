"""Throwaway certificates for the tests: a self-signed CA and a server certificate it signed
for 127.0.0.1 and localhost, made with the openssl command (Debian's `openssl`, which the
PostgreSQL packages pull in)."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import bcrypt

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate (with its key) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.crt"
    key, request, cert = (
        directory / "server.key",
        directory / "server.csr",
        directory / "server.crt",
    )
    extensions = directory / "server.ext"
    extensions.write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "basicConstraints = CA:FALSE\n"
        "keyUsage = digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
    )
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", ca_key, "-out", ca, "-subj", "/CN=pg-advisor test CA",
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", extensions, "-out", cert,
    )  # fmt: skip
    return Certificates(ca_file=ca, cert_file=cert, key_file=key)


@dataclass(frozen=True)
class HttpsClient:
    """GETs over https trusting `ca_file`, with basic-auth credentials when given."""

    ca_file: Path
    username: str | None = None
    password: str | None = None

    def open(self, url: str, timeout: float) -> IO[bytes]:
        """The response (raises urllib.error.HTTPError on 4xx and 5xx, as urlopen does)."""
        request = urllib.request.Request(url)
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        context = ssl.create_default_context(cafile=str(self.ca_file))
        response: IO[bytes] = urllib.request.urlopen(request, timeout=timeout, context=context)
        return response


def bcrypt_hash(password: str, rounds: int = 4) -> str:
    """A bcrypt hash as htpasswd -B writes it (a low cost: the tests verify it often)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def _openssl(*arguments: object) -> None:
    result = subprocess.run(
        [OPENSSL, *map(str, arguments)], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {arguments[0]} failed: {result.stderr}")

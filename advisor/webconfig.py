"""The listener's security: Prometheus's web configuration file (`--web.config.file` of
Prometheus and its exporters, exporter-toolkit's format), validated, as a TLS context and
a basic-auth check.

One file serves the advisor and Prometheus alike, so the keys are exporter-toolkit's. A key
of that format whose meaning Python's ssl module cannot give (cipher suites by Go name,
client certificates requested but not verified) is refused at start rather than ignored:
a security setting that silently does nothing is worse than a clear error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import ssl
import threading
from pathlib import Path
from typing import Any, Literal

import bcrypt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from advisor.errors import UsageError

SETTING = "web_config_file"

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
TlsVersion = Literal["TLS10", "TLS11", "TLS12", "TLS13"]
# exporter-toolkit's client_auth_type values that Python's ssl module can honour: it cannot
# ask for a client certificate without verifying it (RequestClientCert, RequireAnyClientCert).
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
UNVERIFIED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
# exporter-toolkit accepts only these response headers in http_server_config.headers.
ALLOWED_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
)
# $2a$, $2b$ or $2y$ (htpasswd), a two-digit cost, 22 characters of salt and 31 of hash.
BCRYPT_HASH = re.compile(r"^\$2[aby]\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53}$")
# Verified credentials remembered (bcrypt takes tens of milliseconds at cost 10, and
# Prometheus scrapes every few seconds); past this many, the cache starts over.
AUTH_CACHE_ENTRIES = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsServerConfig(_Strict):
    """`tls_server_config`: the server's certificate, and optionally its clients'."""

    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: TlsVersion = "TLS12"
    max_version: TlsVersion = "TLS13"
    prefer_server_cipher_suites: bool = True
    # Keys of the format that the advisor cannot honour: refused when set, see below.
    cipher_suites: list[str] | None = None
    curve_preferences: list[str] | None = None
    client_allowed_sans: list[str] | None = None

    @field_validator("cert_file", "key_file", "client_ca_file")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None and not os.access(path, os.R_OK):
            what = "does not exist" if not path.exists() else "is not readable"
            raise ValueError(f"{path} {what}")
        return path

    @field_validator("client_auth_type")
    @classmethod
    def _known_client_auth(cls, value: str) -> str:
        if value in UNVERIFIED_CLIENT_AUTH:
            raise ValueError(
                f"{value} (a client certificate asked for but not verified) is not supported; "
                "use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )
        if value not in CLIENT_AUTH:
            raise ValueError(f"must be one of {', '.join(CLIENT_AUTH)}")
        return value

    @field_validator("cipher_suites", "curve_preferences", "client_allowed_sans")
    @classmethod
    def _unsupported(cls, value: list[str] | None) -> list[str] | None:
        if value:
            raise ValueError("is not supported by pg-advisor (remove it, or leave it empty)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TlsServerConfig:
        verifies = self.client_auth_type != "NoClientCert"
        if verifies and self.client_ca_file is None:
            raise ValueError(f"client_auth_type {self.client_auth_type} needs client_ca_file")
        if not verifies and self.client_ca_file is not None:
            raise ValueError("client_ca_file is set but client_auth_type is NoClientCert")
        if TLS_VERSIONS[self.min_version] > TLS_VERSIONS[self.max_version]:
            raise ValueError("min_version is newer than max_version")
        return self


class HttpServerConfig(_Strict):
    """`http_server_config`: response headers (HTTP/2 is not spoken: `http2` is accepted
    for the file's sake and means nothing here)."""

    http2: bool = True
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _allowed(cls, headers: dict[str, str]) -> dict[str, str]:
        allowed = {name.lower(): name for name in ALLOWED_HEADERS}
        for name, value in headers.items():
            if name.lower() not in allowed:
                raise ValueError(f"{name} is not one of {', '.join(ALLOWED_HEADERS)}")
            if "\r" in value or "\n" in value:
                raise ValueError(f"{name} holds a line break")
        return headers


class WebConfig(_Strict):
    """The web configuration file: TLS, basic-auth users and response headers."""

    tls_server_config: TlsServerConfig | None = None
    http_server_config: HttpServerConfig = Field(default_factory=HttpServerConfig)
    basic_auth_users: dict[str, str] = Field(default_factory=dict)

    @field_validator("basic_auth_users")
    @classmethod
    def _bcrypt_hashes(cls, users: dict[str, str]) -> dict[str, str]:
        for user, hashed in users.items():
            if ":" in user:
                raise ValueError(f"user {user!r}: a user name cannot hold ':'")
            match = BCRYPT_HASH.match(hashed)
            if match is None or not 4 <= int(match["cost"]) <= 31:
                # Never the hash itself in the message.
                raise ValueError(f"user {user!r}: the password is not a bcrypt hash")
        return users


def load_web_config(path: Path) -> WebConfig:
    """The validated web configuration in `path`.

    Raises UsageError naming the setting, the file and the key at fault; the message never
    quotes the file's content, which holds password hashes."""
    where = f"{SETTING} {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"{where} cannot be read: {reason}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(f"{where} is not valid YAML{_yaml_position(error)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{where}: the file must be a YAML mapping")
    # The file's relative paths are relative to it, as exporter-toolkit reads them.
    _resolve_paths(data, path.parent)
    try:
        return WebConfig.model_validate(data)
    except ValidationError as error:
        lines = [f"invalid {where}:"]
        for problem in error.errors(include_input=False, include_url=False):
            key = ".".join(str(part) for part in problem["loc"]) or "file"
            message = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "extra_forbidden":
                message = "unknown key"
            lines.append(f"  {key}: {message}")
        raise UsageError("\n".join(lines)) from None


def _yaml_position(error: yaml.YAMLError) -> str:
    # Only the position: PyYAML's own message quotes the offending line.
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return ""
    return f" (line {mark.line + 1}, column {mark.column + 1})"


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    tls = data.get("tls_server_config")
    if not isinstance(tls, dict):
        return
    for key in ("cert_file", "key_file", "client_ca_file"):
        value = tls.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            tls[key] = str(base / value)


def tls_context(tls: TlsServerConfig) -> ssl.SSLContext:
    """A server-side SSLContext with the configured certificate, versions and client
    verification. Raises UsageError when the certificate or key cannot be loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[tls.min_version]
    context.maximum_version = TLS_VERSIONS[tls.max_version]
    if tls.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except (ssl.SSLError, OSError) as error:
        raise UsageError(
            f"{SETTING}: tls_server_config: cannot load the certificate {tls.cert_file} with "
            f"the key {tls.key_file} ({_ssl_reason(error)})"
        ) from None
    context.verify_mode = CLIENT_AUTH[tls.client_auth_type]
    if tls.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=tls.client_ca_file)
        except (ssl.SSLError, OSError) as error:
            raise UsageError(
                f"{SETTING}: tls_server_config.client_ca_file {tls.client_ca_file}: "
                f"no certificates in it ({_ssl_reason(error)})"
            ) from None
    return context


def _ssl_reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    return error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__


class BasicAuth:
    """Checks an `Authorization: Basic` header against the configured bcrypt hashes.

    A successful verification is remembered under a keyed hash of the user, the stored hash
    and the password (never the password itself), so a scrape costs one HMAC, not one
    bcrypt; a changed password in the file misses the cache. bcrypt runs one at a time, as
    in exporter-toolkit: a flood of wrong passwords costs one core, not all of them."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = {user: hashed.encode() for user, hashed in users.items()}
        self._key = os.urandom(32)
        self._verified: set[bytes] = set()
        self._lock = threading.Lock()
        self._bcrypt = threading.Lock()
        # Unknown users are checked against a hash too, so that they take as long.
        self._dummy = bcrypt.hashpw(os.urandom(16), bcrypt.gensalt(rounds=10))

    def allows(self, authorization: str | None) -> bool:
        """Whether the header value names a configured user with the right password."""
        credentials = _decode_basic(authorization)
        if credentials is None:
            return False
        user, password = credentials
        hashed = self._users.get(user)
        identity = b"\0".join((user.encode(), hashed or b"", password))
        key = hmac.digest(self._key, identity, hashlib.sha256)
        with self._lock:
            if key in self._verified:
                return True
        with self._bcrypt:
            try:
                matches = bcrypt.checkpw(password, hashed or self._dummy)
            except ValueError:  # e.g. a password longer than bcrypt's 72 bytes
                matches = False
        if not matches or hashed is None:
            return False
        with self._lock:
            if len(self._verified) >= AUTH_CACHE_ENTRIES:
                self._verified.clear()
            self._verified.add(key)
        return True


def _decode_basic(authorization: str | None) -> tuple[str, bytes] | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None

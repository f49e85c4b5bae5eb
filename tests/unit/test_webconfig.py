"""The listener's web configuration file: Prometheus's format, validated at start with
messages that name the key at fault and never quote a hash or a key."""

from __future__ import annotations

import base64
import ssl
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest

from advisor.config import load_settings
from advisor.errors import UsageError
from advisor.webconfig import BasicAuth, load_web_config, tls_context
from tests.prometheus import PROMTOOL
from tests.tls import Certificates, bcrypt_hash, make_certificates

PASSWORD = "s3cret-scrape"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return path


def failure(path: Path) -> str:
    with pytest.raises(UsageError) as raised:
        config = load_web_config(path)
        if config.tls_server_config is not None:
            tls_context(config.tls_server_config)
    return str(raised.value)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_prometheus_web_config_with_tls_and_users_loads(
    tmp_path: Path, certificates: Certificates
) -> None:
    hashed = bcrypt_hash(PASSWORD)
    path = write(
        tmp_path,
        f"tls_server_config:\n"
        f"  cert_file: {certificates.cert_file}\n"
        f"  key_file: {certificates.key_file}\n"
        f"  min_version: TLS13\n"
        f"http_server_config:\n"
        f"  http2: false\n"
        f"  headers:\n"
        f"    Strict-Transport-Security: max-age=31536000\n"
        f"basic_auth_users:\n"
        f"  prometheus: '{hashed}'\n",
    )
    config = load_web_config(path)
    assert config.basic_auth_users == {"prometheus": hashed}
    assert config.http_server_config.headers == {"Strict-Transport-Security": "max-age=31536000"}
    assert config.tls_server_config is not None
    context = tls_context(config.tls_server_config)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert context.verify_mode == ssl.CERT_NONE


def test_relative_certificate_paths_are_relative_to_the_file(
    tmp_path: Path, certificates: Certificates
) -> None:
    path = certificates.cert_file.parent / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    tls = load_web_config(path).tls_server_config
    assert tls is not None and tls.cert_file == certificates.cert_file


def test_an_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    config = load_web_config(write(tmp_path, ""))
    assert config.tls_server_config is None and config.basic_auth_users == {}


def test_a_password_that_is_no_bcrypt_hash_is_refused_without_showing_it(tmp_path: Path) -> None:
    message = failure(write(tmp_path, "basic_auth_users:\n  prometheus: plain-text-pw\n"))
    assert "web_config_file" in message and "basic_auth_users" in message
    assert "'prometheus'" in message and "not a bcrypt hash" in message
    assert "plain-text-pw" not in message


def test_a_truncated_hash_is_refused(tmp_path: Path) -> None:
    hashed = bcrypt_hash(PASSWORD)[:-3]
    message = failure(write(tmp_path, f"basic_auth_users:\n  prometheus: '{hashed}'\n"))
    assert "not a bcrypt hash" in message and hashed not in message


@pytest.mark.parametrize(
    "text, key",
    [
        ("basic_auth_user:\n  a: b\n", "basic_auth_user"),
        ("http_server_config:\n  header: {}\n", "http_server_config.header"),
    ],
)
def test_an_unknown_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    assert f"{key}: unknown key" in failure(write(tmp_path, text))


def test_a_missing_certificate_file_is_named(tmp_path: Path, certificates: Certificates) -> None:
    missing = tmp_path / "nowhere.crt"
    path = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {missing}\n  key_file: {certificates.key_file}\n",
    )
    message = failure(path)
    assert "tls_server_config.cert_file" in message and f"{missing} does not exist" in message


def test_a_key_that_does_not_fit_the_certificate_is_a_clear_error(
    tmp_path: Path, certificates: Certificates
) -> None:
    other = make_certificates(tmp_path / "other")
    path = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {certificates.cert_file}\n  key_file: {other.key_file}\n",
    )
    message = failure(path)
    assert "cannot load the certificate" in message
    assert "PRIVATE KEY" not in message and "BEGIN" not in message


def test_a_missing_key_file_key_is_named(tmp_path: Path, certificates: Certificates) -> None:
    path = write(tmp_path, f"tls_server_config:\n  cert_file: {certificates.cert_file}\n")
    assert "tls_server_config.key_file: Field required" in failure(path)


def test_client_certificates_need_a_ca_and_must_be_verified(
    tmp_path: Path, certificates: Certificates
) -> None:
    tls = f"tls_server_config:\n  cert_file: {certificates.cert_file}\n  key_file: {certificates.key_file}\n"
    message = failure(write(tmp_path, tls + "  client_auth_type: RequireAndVerifyClientCert\n"))
    assert "needs client_ca_file" in message
    message = failure(write(tmp_path, tls + "  client_auth_type: RequireAnyClientCert\n"))
    assert "not supported" in message
    verified = (
        tls
        + f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certificates.ca_file}\n"
    )
    config = load_web_config(write(tmp_path, verified)).tls_server_config
    assert config is not None and tls_context(config).verify_mode == ssl.CERT_REQUIRED


def test_settings_the_advisor_cannot_honour_are_refused_not_ignored(
    tmp_path: Path, certificates: Certificates
) -> None:
    tls = f"tls_server_config:\n  cert_file: {certificates.cert_file}\n  key_file: {certificates.key_file}\n"
    message = failure(write(tmp_path, tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"))
    assert "tls_server_config.cipher_suites: is not supported" in message


def test_only_exporter_toolkits_headers_are_allowed(tmp_path: Path) -> None:
    message = failure(write(tmp_path, "http_server_config:\n  headers:\n    X-Powered-By: me\n"))
    assert "X-Powered-By is not one of" in message


def test_bad_yaml_is_reported_by_position_without_quoting_the_line(tmp_path: Path) -> None:
    message = failure(write(tmp_path, "basic_auth_users:\n  a: '$2y$10$oops\n  b: [\n"))
    assert "not valid YAML" in message and "line" in message and "oops" not in message


def test_basic_auth_accepts_only_the_right_password() -> None:
    auth = BasicAuth({"prometheus": bcrypt_hash(PASSWORD)})
    assert auth.allows(basic("prometheus", PASSWORD))
    assert not auth.allows(basic("prometheus", "wrong"))
    assert not auth.allows(basic("someone", PASSWORD))
    assert not auth.allows(None)
    assert not auth.allows("Bearer abc")
    assert not auth.allows("Basic not-base64!")
    assert not auth.allows("Basic " + base64.b64encode(b"no-colon").decode())


def test_a_verified_password_is_not_checked_with_bcrypt_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = BasicAuth({"prometheus": bcrypt_hash(PASSWORD)})
    calls = []
    checkpw = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    for _ in range(3):
        assert auth.allows(basic("prometheus", PASSWORD))
    assert len(calls) == 1
    # A wrong password is never remembered: each attempt costs a bcrypt.
    for _ in range(2):
        assert not auth.allows(basic("prometheus", "wrong"))
    assert len(calls) == 3


def test_the_daemon_refuses_a_bad_web_config_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "basic_auth_users:\n  prometheus: hunter2\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor.cli",
            "run",
            "--dsn",
            "postgresql://advisor@127.0.0.1:1/app",
            "--state-dir",
            str(tmp_path / "state"),
            "--web-config-file",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "web_config_file" in result.stderr and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert not (tmp_path / "state").exists()


def test_the_readmes_example_serves_the_advisor_and_prometheus_alike(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("# /etc/pg-advisor/web-config.yml\n", 1)[1].split("```", 1)[0]
    made = make_certificates(tmp_path / "made")
    made.cert_file.rename(tmp_path / "tls.crt")
    made.key_file.rename(tmp_path / "tls.key")
    path = write(tmp_path, example)
    config = load_web_config(path)
    assert config.tls_server_config is not None
    tls_context(config.tls_server_config)
    assert BasicAuth(config.basic_auth_users).allows(basic("prometheus", "change-me"))
    check = subprocess.run(
        [PROMTOOL, "check", "web-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_setting_comes_from_the_environment_or_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_WEB_CONFIG_FILE", str(tmp_path / "env.yml"))
    assert load_settings().web_config_file == tmp_path / "env.yml"
    flag = load_settings(web_config_file=tmp_path / "flag.yml")
    assert flag.web_config_file == tmp_path / "flag.yml"

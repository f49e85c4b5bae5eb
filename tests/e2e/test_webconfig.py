"""The secured listener end to end: `pg-advisor run` with a web configuration file (TLS and
basic auth), and the real Prometheus scraping it over https with credentials while serving
its own API under the very same file (`--web.config.file`)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from advisor.demo.sandbox import ThrowawayCluster, free_port
from tests.e2e.test_daemon import DaemonProcess
from tests.prometheus import PrometheusServer
from tests.support import create_sample_database, reset_statements
from tests.tls import Certificates, HttpsClient, bcrypt_hash, make_certificates

USER = "prometheus"
PASSWORD = "scrape-me-if-you-can"


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    headers: dict[str, str]


class SecuredAdvisor(DaemonProcess):
    """`pg-advisor run` with `--web-config-file`, reached over https trusting the test CA."""

    def __init__(self, dsn: str, workdir: Path, web_config: Path, ca_file: Path) -> None:
        self.port = free_port()
        self.ca_file = ca_file
        self.log = workdir / f"daemon-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
        command = [sys.executable, "-m", "advisor.cli", "run", "--dsn", dsn]
        command += ["--listen", f"127.0.0.1:{self.port}", "--state-dir", str(workdir / "state")]
        command += ["--out", str(workdir / "reports"), "--collect-interval", "1"]
        command += ["--web-config-file", str(web_config)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=self.log.open("w"), env=env
        )
        self.wait(lambda: self.get("/health")[0] == 200, "the daemon serving /health over https")

    def request(self, path: str, user: str | None = None, password: str | None = None) -> Response:
        client = HttpsClient(self.ca_file, user, password)
        try:
            with client.open(f"https://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return Response(response.status, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode(), dict(error.headers))

    def get(self, path: str) -> tuple[int, str]:
        try:
            response = self.request(path, USER, PASSWORD)
        except OSError:
            return 0, ""
        return response.status, response.body


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


@pytest.fixture
def web_config(tmp_path: Path, certificates: Certificates) -> Path:
    """One file for both servers: TLS with the test certificate, one user."""
    path = tmp_path / "web-config.yml"
    path.write_text(
        "tls_server_config:\n"
        f"  cert_file: {certificates.cert_file}\n"
        f"  key_file: {certificates.key_file}\n"
        "basic_auth_users:\n"
        f"  {USER}: '{bcrypt_hash(PASSWORD, rounds=10)}'\n"
    )
    return path


@pytest.fixture
def advisor(
    cluster: ThrowawayCluster, tmp_path: Path, web_config: Path, certificates: Certificates
) -> Iterator[SecuredAdvisor]:
    dsn = create_sample_database(cluster, "secured")
    reset_statements(dsn)
    daemon = SecuredAdvisor(dsn, tmp_path, web_config, certificates.ca_file)
    try:
        yield daemon
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()


def test_the_listener_asks_for_tls_and_the_password(advisor: SecuredAdvisor) -> None:
    advisor.wait(lambda: advisor.get("/ready")[0] == 200, "the first collection")

    anonymous = advisor.request("/metrics")
    assert anonymous.status == 401
    assert anonymous.headers.get("WWW-Authenticate") == "Basic"
    assert "pg_advisor_" not in anonymous.body
    assert advisor.request("/metrics", USER, "wrong").status == 401
    assert advisor.request("/metrics", "someone", PASSWORD).status == 401

    scraped = advisor.request("/metrics", USER, PASSWORD)
    assert scraped.status == 200
    assert 'pg_advisor_up{database="secured"} 1.0' in scraped.body

    # Probes carry no credentials: liveness answers them, readiness with its status only.
    assert advisor.request("/health").status == 200
    ready = advisor.request("/ready")
    assert ready.status == 200 and json.loads(ready.body) == {"ready": True}
    detailed = json.loads(advisor.request("/ready", USER, PASSWORD).body)
    assert detailed["databases"]["secured"]["ready"] is True

    # Plain HTTP on the TLS port gets no answer.
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{advisor.port}/metrics", timeout=5)
    assert advisor.process.poll() is None
    assert advisor.stop() == 0
    assert "Traceback" not in advisor.logs() and PASSWORD not in advisor.logs()


def test_prometheus_scrapes_over_https_with_basic_auth_under_the_same_web_config(
    advisor: SecuredAdvisor, web_config: Path, certificates: Certificates, tmp_path: Path
) -> None:
    password_file = tmp_path / "scrape-password"
    password_file.write_text(PASSWORD)
    target = f"127.0.0.1:{advisor.port}"
    prometheus = PrometheusServer(
        [target],
        scrape={
            "scheme": "https",
            "tls_config": {"ca_file": str(certificates.ca_file)},
            "basic_auth": {"username": USER, "password_file": str(password_file)},
        },
        web_config=web_config,
        client=HttpsClient(certificates.ca_file, USER, PASSWORD),
    )
    try:
        # Prometheus's own API is under the same file: https, and the same password.
        with pytest.raises(urllib.error.HTTPError) as refused:
            HttpsClient(certificates.ca_file).open(
                f"https://127.0.0.1:{prometheus.port}/api/v1/query?query=up", timeout=5
            )
        assert refused.value.code == 401

        (up,) = prometheus.wait_for(f'up{{job="pg-advisor",instance="{target}"}} == 1', 60)
        assert up["value"][1] == "1"
        series = prometheus.wait_for('pg_advisor_up{database="secured"} == 1', 60)
        assert series[0]["metric"]["instance"] == target
        assert advisor.stop() == 0
    finally:
        prometheus.stop()

"""The real Prometheus (Debian's package) for tests that scrape the daemon."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from advisor.demo.sandbox import free_port
from tests.tls import HttpsClient

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


class PrometheusServer:
    """A Prometheus scraping the given targets every second, on a free loopback port.

    `scrape` adds options to the scrape job (scheme, tls_config, basic_auth); `web_config`
    is passed as --web.config.file, and `client` is then how the tests reach Prometheus."""

    def __init__(
        self,
        targets: list[str],
        rule_files: list[Path] | None = None,
        scrape: Mapping[str, Any] | None = None,
        web_config: Path | None = None,
        client: HttpsClient | None = None,
    ) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-advisor-prometheus-"))
        self.client = client
        job = {"job_name": "pg-advisor", **(scrape or {}), "static_configs": [{"targets": targets}]}
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [job],
        }
        if rule_files:
            config["rule_files"] = [str(path) for path in rule_files]
        # JSON is YAML: no quoting to get wrong.
        (self.dir / "prometheus.yml").write_text(json.dumps(config, indent=2))
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                *([f"--web.config.file={web_config}"] if web_config else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "prometheus.log").open("w"),
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with self.open("/-/ready", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"prometheus did not start: {(self.dir / 'prometheus.log').read_text()}")

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The result vector of an instant query (raises on a PromQL error)."""
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        with self.open(path, timeout=10) as response:
            body = json.load(response)
        if body["status"] != "success":
            raise ValueError(f"{expression}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def open(self, path: str, timeout: float) -> IO[bytes]:
        """GET a path of Prometheus's web API (over https with credentials given a client)."""
        if self.client is not None:
            return self.client.open(f"https://127.0.0.1:{self.port}{path}", timeout)
        response: IO[bytes] = urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}{path}", timeout=timeout
        )
        return response

    def wait_for(self, expression: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Poll until the query returns a non-empty vector."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expression)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"no data for {expression} within {timeout} s")
            time.sleep(0.5)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

"""The deployment files: the Dockerfiles (hadolint, and what they install), the compose file
(the compose specification, and that its services, files and ports fit together) and the
Kubernetes manifests (the schemas of a named Kubernetes version, and the sidecar's probes,
secret, resources and security). No container engine runs here: validated, not run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from compose_spec import PyCompose
from packaging.requirements import Requirement

from advisor.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
POSTGRES_DOCKERFILE = ROOT / "deploy" / "postgres" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# ----------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form instruction (CMD ["a", "b"])."""
        value = json.loads(self.arguments)
        assert isinstance(value, list), self
        return [str(item) for item in value]


def instructions(dockerfile: Path) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def only(dockerfile: Path, keyword: str) -> Instruction:
    found = [i for i in instructions(dockerfile) if i.keyword == keyword]
    assert len(found) == 1, f"{dockerfile.name}: expected one {keyword}, found {found}"
    return found[0]


def image_env(dockerfile: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in instructions(dockerfile):
        if instruction.keyword == "ENV":
            for pair in instruction.arguments.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def copied_sources(dockerfile: Path) -> list[str]:
    """The build-context paths the Dockerfile COPYs (not from another stage)."""
    sources = []
    for instruction in instructions(dockerfile):
        if instruction.keyword == "COPY" and "--from" not in instruction.arguments:
            sources.extend(instruction.arguments.split()[:-1])
    return sources


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` and `?` stay within a path element, `**`
    crosses them (Go's filepath.Match plus Docker's `**`)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def docker_ignores(path: str, dockerignore: Path) -> bool:
    """Whether Docker leaves `path` (relative to the context) out of the build context: the
    last pattern matching it or one of its parent directories decides; `!` re-includes."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for line in dockerignore.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = _pattern_regex(line.lstrip("!").strip("/"))
        if any(pattern.match(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kubernetes_resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in documents(KUBERNETES / name)]


def resource(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        r
        for r in kubernetes_resources()
        if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def advisor_user() -> tuple[int, int]:
    user, _, group = only(DOCKERFILE, "USER").arguments.partition(":")
    return int(user), int(group or user)


def listen_port(listen: str) -> int:
    return int(listen.rpartition(":")[2])


# ---------------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, POSTGRES_DOCKERFILE], ids=lambda p: str(p))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [HADOLINT, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_the_project_from_source_so_its_dependencies_are_pyprojects() -> None:
    runs = [i.arguments for i in instructions(DOCKERFILE) if i.keyword == "RUN"]
    installs = [
        command.strip()
        for run in runs
        for command in run.split("&&")
        if re.search(r"\bpip3? install\b", command)
    ]
    # One install, of the source tree itself: no package list to drift from pyproject.toml.
    assert len(installs) == 1, installs
    words = [w for w in installs[0].split() if not w.startswith("-")]
    assert words[-1] == ".", installs[0]
    assert words[:-1] in (["pip", "install"], ["pip3", "install"]), installs[0]


def test_files_the_image_copies_build_the_whole_package(tmp_path: Path) -> None:
    """The context the Dockerfile copies (and .dockerignore lets through) is enough to
    build the wheel it installs: every module, the report templates, the dependencies."""
    context = tmp_path / "context"
    context.mkdir()
    for source in copied_sources(DOCKERFILE):
        origin = ROOT / source
        assert not docker_ignores(source, ROOT / ".dockerignore"), source
        if origin.is_dir():
            shutil.copytree(origin, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, context / source)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("pg_advisor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(
            archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA")
        )
    package_files = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "advisor").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".j2"}
    }
    assert package_files <= names, sorted(package_files - names)
    required = [
        Requirement(line.removeprefix("Requires-Dist: "))
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    ]
    declared = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]]
    assert sorted(map(str, required)) == sorted(map(str, declared))


def test_dockerignore_keeps_the_context_to_what_the_image_copies() -> None:
    dockerignore = ROOT / ".dockerignore"
    for kept in ("pyproject.toml", "README.md", "advisor/cli.py", "advisor/export/templates"):
        assert not docker_ignores(kept, dockerignore), kept
    for left_out in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "state/x.sqlite3"):
        assert docker_ignores(left_out, dockerignore), left_out
    assert docker_ignores("advisor/__pycache__/cli.cpython-311.pyc", dockerignore)


def test_image_uses_a_slim_python_the_project_supports() -> None:
    base = only(DOCKERFILE, "FROM").arguments
    match = re.fullmatch(r"python:3\.(\d+)-slim", base)
    assert match, base
    minimum = re.fullmatch(r">=3\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert minimum and int(match.group(1)) >= int(minimum.group(1))


def test_image_runs_the_daemon_as_a_non_root_user_with_its_state_on_a_volume() -> None:
    assert only(DOCKERFILE, "ENTRYPOINT").exec_form() == ["pg-advisor"]
    assert "pg-advisor" in PYPROJECT["project"]["scripts"]
    assert only(DOCKERFILE, "CMD").exec_form() == ["run"]
    user, group = advisor_user()
    assert user != 0 and group != 0
    env = image_env(DOCKERFILE)
    (volume,) = only(DOCKERFILE, "VOLUME").exec_form()
    for setting in ("ADVISOR_STATE_DIR", "ADVISOR_OUT"):
        assert Path(env[setting]).is_relative_to(volume), setting
    port = listen_port(env["ADVISOR_LISTEN"])
    assert only(DOCKERFILE, "EXPOSE").arguments == str(port)
    assert port == listen_port(Settings.model_fields["listen"].default)


def test_image_healthcheck_asks_health_with_python_since_slim_has_no_curl() -> None:
    healthcheck = only(DOCKERFILE, "HEALTHCHECK").arguments
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    assert "/health" in command[2] and "ADVISOR_LISTEN" in command[2]


def test_deployments_run_the_image_of_this_version() -> None:
    tag = f"pg-advisor:{PYPROJECT['project']['version']}"
    assert compose()["services"]["advisor"]["image"] == tag
    assert _containers()["pg-advisor"]["image"] == tag


def test_postgres_image_adds_hypopg_for_its_major_and_the_init_script() -> None:
    assert only(POSTGRES_DOCKERFILE, "FROM").arguments == "postgres:16"
    run = only(POSTGRES_DOCKERFILE, "RUN").arguments
    # PG_MAJOR is set by the postgres base image, so the package follows its tag.
    assert '"postgresql-${PG_MAJOR}-hypopg"' in run
    copy = only(POSTGRES_DOCKERFILE, "COPY").arguments.split()
    assert copy[-1] == "/docker-entrypoint-initdb.d/"
    assert (POSTGRES_DOCKERFILE.parent / copy[0] / "10-pg-advisor.sql").is_file()


# --------------------------------------------------------------------------- compose


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_compose_file_follows_the_compose_specification() -> None:
    parsed = PyCompose.from_yaml(COMPOSE.read_text())
    parsed.validate()
    assert set(parsed.service_names()) == {"postgres", "advisor", "prometheus", "grafana"}


def test_compose_references_resolve_to_files_services_and_volumes() -> None:
    spec = compose()
    declared_volumes = set(spec.get("volumes") or {})
    for name, service in spec["services"].items():
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build["context"]
            dockerfile = "Dockerfile" if isinstance(build, str) else build["dockerfile"]
            assert (COMPOSE.parent / context / dockerfile).is_file(), name
        for dependency in service.get("depends_on") or {}:
            assert dependency in spec["services"], (name, dependency)
        for mount in service.get("volumes") or []:
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), (name, source)
            else:
                assert source in declared_volumes, (name, source)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (resolved) of the service's bind mounts."""
    result = {}
    for mount in service.get("volumes") or []:
        source, target = mount.split(":")[:2]
        if source.startswith("."):
            result[target] = str((COMPOSE.parent / source).resolve())
        else:
            result[target] = source
    return result


def test_compose_postgres_preloads_pg_stat_statements_and_creates_the_advisor_role() -> None:
    postgres = compose()["services"]["postgres"]
    assert "shared_preload_libraries=pg_stat_statements" in postgres["command"]
    assert postgres["build"] == "./postgres"
    assert "ADVISOR_PASSWORD" in postgres["environment"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_advisor_connects_as_the_advisor_role_to_the_postgres_service() -> None:
    spec = compose()
    advisor = spec["services"]["advisor"]
    url = urlsplit(advisor["environment"]["DATABASE_URL"])
    assert url.hostname == "postgres" and url.username == "advisor"
    assert url.path.lstrip("/") == spec["services"]["postgres"]["environment"]["POSTGRES_DB"]
    assert url.password == spec["services"]["postgres"]["environment"]["ADVISOR_PASSWORD"]
    assert advisor["depends_on"]["postgres"]["condition"] == "service_healthy"
    user, group = advisor_user()
    assert advisor["user"] == f"{user}:{group}"
    assert advisor["read_only"] is True
    (volume,) = only(DOCKERFILE, "VOLUME").exec_form()
    assert any(mount.endswith(f":{volume}") for mount in advisor["volumes"])


def test_compose_prometheus_scrapes_the_advisor_and_loads_the_rules() -> None:
    spec = compose()
    mounts = _mounts(spec["services"]["prometheus"])
    config_path = next(t for t, s in mounts.items() if s == str(ROOT / "config/prometheus.yml"))
    config = yaml.safe_load((ROOT / "config/prometheus.yml").read_text())
    (rule_file,) = config["rule_files"]
    rules_in_container = str(Path(config_path).parent / rule_file)
    assert mounts[rules_in_container] == str(ROOT / "config/alerts.yml")
    (job,) = config["scrape_configs"]
    (target,) = job["static_configs"][0]["targets"]
    host, _, port = target.partition(":")
    assert host == "advisor" and host in spec["services"]
    assert int(port) == listen_port(image_env(DOCKERFILE)["ADVISOR_LISTEN"])
    # The alert rules select the scrape job by this name.
    assert f'job="{job["job_name"]}"' in (ROOT / "config/alerts.yml").read_text()


def test_compose_grafana_provisions_the_datasource_and_the_dashboards() -> None:
    spec = compose()
    mounts = _mounts(spec["services"]["grafana"])
    provisioning = ROOT / "config/grafana/provisioning"
    assert mounts["/etc/grafana/provisioning"] == str(provisioning)
    providers = yaml.safe_load((provisioning / "dashboards/pg-advisor.yml").read_text())
    (provider,) = providers["providers"]
    assert mounts[provider["options"]["path"]] == str(ROOT / "dashboards")
    home = spec["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "dashboards" / Path(home).relative_to(provider["options"]["path"])).is_file()
    sources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    (source,) = sources["datasources"]
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus" and url.hostname in spec["services"]
    assert url.port == 9090


# ------------------------------------------------------------------------ Kubernetes


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    manifests = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests


def test_kubernetes_manifests_validate_against_kubernetes_1_30() -> None:
    for document in kubernetes_resources():
        # Raises ValidationError naming the field; returns the schema version it used.
        used = kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        assert used == KUBERNETES_VERSION.rpartition(".")[0], document["metadata"]["name"]


def test_kubernetes_validation_rejects_a_broken_manifest() -> None:
    """The validator really checks: an unknown field in the sidecar fails."""
    statefulset = resource("StatefulSet")
    broken = json.loads(json.dumps(statefulset))
    broken["spec"]["template"]["spec"]["containers"][1]["livenessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def _containers() -> dict[str, dict[str, Any]]:
    pod = resource("StatefulSet")["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["containers"]}


def test_advisor_runs_as_a_sidecar_of_postgres_in_the_same_pod() -> None:
    containers = _containers()
    assert set(containers) == {"postgres", "pg-advisor"}
    postgres = containers["postgres"]
    assert "shared_preload_libraries=pg_stat_statements" in postgres["args"]
    secret = resource("Secret")
    env = {e["name"]: e for e in containers["pg-advisor"]["env"]}
    reference = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference["name"] == secret["metadata"]["name"]
    url = urlsplit(secret["stringData"][reference["key"]])
    # The sidecar reaches PostgreSQL inside the pod, as the least-privilege role.
    assert url.hostname in {"127.0.0.1", "localhost"} and url.username == "advisor"
    postgres_env = {e["name"]: e for e in postgres["env"]}
    assert (
        url.password
        == secret["stringData"][
            postgres_env["ADVISOR_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"]
        ]
    )


def test_advisor_sidecar_is_probed_on_health_and_ready() -> None:
    advisor = _containers()["pg-advisor"]
    ports = {p["name"]: p["containerPort"] for p in advisor["ports"]}
    assert ports["metrics"] == listen_port(image_env(DOCKERFILE)["ADVISOR_LISTEN"])
    assert advisor["livenessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
    assert advisor["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}


def test_advisor_sidecar_has_resources_and_runs_non_root_on_a_read_only_root() -> None:
    advisor = _containers()["pg-advisor"]
    assert advisor["resources"]["requests"]["cpu"] and advisor["resources"]["requests"]["memory"]
    assert advisor["resources"]["limits"]["memory"]
    security = advisor["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert (security["runAsUser"], security["runAsGroup"]) == advisor_user()


def test_advisor_state_lives_on_a_writable_volume() -> None:
    statefulset = resource("StatefulSet")
    advisor = _containers()["pg-advisor"]
    (volume,) = only(DOCKERFILE, "VOLUME").exec_form()
    mounts = {m["mountPath"]: m["name"] for m in advisor["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in statefulset["spec"]["volumeClaimTemplates"]}
    pod_volumes = {v["name"] for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    assert mounts[volume] in claims | pod_volumes
    env = {e["name"]: e.get("value") for e in advisor["env"]}
    for setting in ("ADVISOR_STATE_DIR", "ADVISOR_OUT"):
        assert Path(env[setting]).is_relative_to(volume), setting


def test_metrics_service_selects_the_pod_and_invites_scraping() -> None:
    service = resource("Service", "postgres-pg-advisor")
    pod_labels = resource("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    (port,) = service["spec"]["ports"]
    assert port["name"] == "metrics" and port["targetPort"] == "metrics"
    assert int(annotations["prometheus.io/port"]) == port["port"]

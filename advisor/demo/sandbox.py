"""A throwaway PostgreSQL cluster for the demo and the tests.

It runs the distribution's real server binaries with pg_stat_statements preloaded (and
pg_qualstats where installed), listening on 127.0.0.1 only. initdb refuses to run as root,
so when we are root the cluster runs as the unprivileged `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from advisor.errors import AdvisorError

PG_ROOT = Path("/usr/lib/postgresql")


def find_bindir() -> Path:
    """The newest installed server's bin directory (override: ADVISOR_PG_BINDIR)."""
    override = os.environ.get("ADVISOR_PG_BINDIR")
    if override:
        return Path(override)
    majors = sorted(
        (p for p in PG_ROOT.glob("*") if (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.name) if p.name.isdigit() else 0,
    )
    if not majors:
        raise AdvisorError(
            "no PostgreSQL server found under /usr/lib/postgresql: run `make setup` "
            "(installs the Debian packages postgresql and postgresql-contrib)"
        )
    return majors[-1] / "bin"


def server_major(bindir: Path) -> int:
    """The major version of the server binaries in `bindir` (`postgres --version`)."""
    result = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    )
    version = result.stdout.split()[-1]
    return int(version.split(".")[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory, removed again by `destroy()`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        settings: dict[str, str] | None = None,
        bindir: Path | None = None,
    ) -> None:
        self.bindir = bindir or find_bindir()
        self.major = server_major(self.bindir)
        self.port = port or free_port()
        self.base = Path(tempfile.mkdtemp(prefix="pg-advisor-cluster-"))
        self.datadir = self.base / "data"
        self.logfile = self.base / "server.log"
        self.extra_settings = settings or {}
        self._as_user = "postgres" if os.geteuid() == 0 else None

    # ------------------------------------------------------------------ lifecycle

    def _own_base(self) -> None:
        """Give the base directory to the user the server runs as."""
        if self._as_user:
            entry = pwd.getpwnam(self._as_user)
            os.chmod(self.base, 0o755)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        """initdb with trust authentication on the loopback interface."""
        self._own_base()
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        with (self.datadir / "postgresql.conf").open("a") as conf:
            for key, value in self.server_settings().items():
                conf.write(f"{key} = {value}\n")

    def server_settings(self) -> dict[str, str]:
        preload = ["pg_stat_statements"]
        if self.has_library("pg_qualstats"):
            preload.append("pg_qualstats")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
            "shared_preload_libraries": "'" + ",".join(preload) + "'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "jit": "off",
            "max_connections": "50",
            "log_line_prefix": "'%m [%p] app=%a db=%d '",
            "pg_stat_statements.max": "10000",
        }
        settings.update(self.extra_settings)
        return settings

    def has_library(self, name: str) -> bool:
        return (self.bindir.parent / "lib" / f"{name}.so").exists()

    def has_extension(self, name: str) -> bool:
        bundled = self.bindir.parent / "share" / "extension"
        debian = Path("/usr/share/postgresql") / str(self.major) / "extension"
        return any((share / f"{name}.control").exists() for share in (bundled, debian))

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.logfile))

    def stop(self, mode: str = "fast") -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._pg_ctl("stop", "-w", "-t", "60", "-m", mode)

    def restart(self) -> None:
        self._pg_ctl("restart", "-w", "-t", "60", "-m", "fast", "-l", str(self.logfile))

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ThrowawayCluster:
        self.init()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # ------------------------------------------------------------------ access

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def server_log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _pg_ctl(self, *args: str) -> None:
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args])

    def _run(self, command: Sequence[str]) -> None:
        if self._as_user:
            command = ["runuser", "-u", self._as_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.base, check=False)
        if result.returncode != 0:
            raise AdvisorError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.server_log()[-3000:]}"
            )


class ThrowawayStandby(ThrowawayCluster):
    """A streaming replica of a running ThrowawayCluster: `pg_basebackup -R -X stream` of it
    (initdb's pg_hba.conf lets the loopback replicate, wal_level is replica by default),
    started on a port of its own with hot_standby on."""

    def __init__(self, primary: ThrowawayCluster, *, port: int | None = None) -> None:
        super().__init__(port=port, settings=primary.extra_settings, bindir=primary.bindir)
        self.primary = primary

    def init(self) -> None:
        self._own_base()
        self._run(
            [
                str(self.bindir / "pg_basebackup"),
                "-D",
                str(self.datadir),
                "-R",
                "-X",
                "stream",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.primary.port),
                "-U",
                "postgres",
                # A spread checkpoint waits up to checkpoint_completion_target of
                # checkpoint_timeout (4.5 min) on a primary with many dirty buffers.
                "--checkpoint=fast",
            ]
        )
        # The copied postgresql.conf names the primary's port and socket directory; the
        # last setting in the file wins.
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\n")
            conf.write(f"unix_socket_directories = '{self.base}'\n")
            conf.write("hot_standby = on\n")

    def wait_for_replay(self, timeout_seconds: float = 30.0) -> None:
        """Block until the standby has replayed everything the primary has written."""
        import psycopg

        with psycopg.connect(self.primary.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout_seconds
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            while True:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
                if done and done[0]:
                    return
                if time.monotonic() > deadline:
                    raise AdvisorError(f"the standby did not replay up to {target} in time")
                time.sleep(0.05)


def wait_until_ready(dsn: str, timeout_seconds: float = 30.0) -> None:
    """Block until the server accepts connections (after a restart)."""
    import psycopg

    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

"""`pg-advisor run`: the long-running sidecar.

Three scheduled jobs per database (collect, analyze, report) and an HTTP server for
/metrics, /health and /ready (over TLS and with basic auth when the web configuration file
asks for them). Every job step can fail: a failure is logged with context,
counted, shown as `pg_advisor_up 0` / a 503 on /ready, and retried with backoff; the process
itself keeps running. SIGTERM and SIGINT stop it cleanly with the state flushed.
"""

from __future__ import annotations

import json
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

import psycopg
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from psycopg.conninfo import conninfo_to_dict

from advisor.analyze.pools import PeakBucket, judge_pools, record_peaks
from advisor.analyze.secrets import may_hold_secret
from advisor.analyze.syntax import short_fingerprint
from advisor.collect.connections import sample_activity
from advisor.collect.deltas import delta, running_totals
from advisor.collect.snapshot import SnapshotReader, take_index_snapshot
from advisor.config import Settings, pool_settings
from advisor.errors import AdvisorError, UsageError
from advisor.export.metrics import make_registry
from advisor.history import (
    ActivitySample,
    Snapshot,
    StatementCounters,
)
from advisor.jobs.guard import measure_regressions
from advisor.jobs.health import check_health
from advisor.jobs.observe import Observation, observe_stored
from advisor.jobs.recommend import recommend
from advisor.jobs.report import report_from_state
from advisor.model import (
    Analysis,
    Finding,
    Schema,
)
from advisor.pg import (
    MARKER,
    Connection,
    capabilities,
    first_line,
    redact,
    replica_dsns,
    session,
)
from advisor.status import ReplicaStatus, RuntimeStatus, busiest
from advisor.store import Store
from advisor.webconfig import BasicAuth, WebConfig, load_web_config, tls_context

log = structlog.get_logger("advisor.daemon")


ALL_DATABASES = "*"
DISCOVER_INTERVAL_SECONDS = 60.0
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
# A client that connects and never finishes the TLS handshake holds one thread this long.
TLS_HANDSHAKE_TIMEOUT_SECONDS = 10.0

DATABASES_SQL = f"""{MARKER}
SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname
"""


def database_names(settings: Settings) -> list[str]:
    """The databases to watch: configured, or the DSN's own (libpq's default: the user).
    `*` means every database of the server, discovered once the daemon runs."""
    if settings.databases == [ALL_DATABASES]:
        return []
    if settings.databases:
        return list(settings.databases)
    try:
        params = conninfo_to_dict(settings.dsn)
    except psycopg.ProgrammingError as error:
        raise UsageError(f"invalid DSN {redact(settings.dsn)!r}: {error}") from None
    name = params.get("dbname") or params.get("user") or "postgres"
    return [str(name)]


def retry_wait(failures: int, max_seconds: float) -> float:
    """Seconds to wait after the n-th collection failure in a row: 1, 2, 4, ... capped."""
    return min(2.0 ** min(failures - 1, 64), max_seconds)


@dataclass
class _Backoff:
    failures: int = 0
    next_attempt: float = 0.0


class Daemon:
    """The scheduler, its jobs, the HTTP server, and the state they share."""

    def __init__(self, settings: Settings) -> None:
        if not settings.dsn:
            raise UsageError("no DSN given: pass --dsn, set DATABASE_URL or dsn in the config")
        self.settings = settings
        # The web configuration first: a bad one stops the start before the state is opened.
        path = settings.web_config_file
        self.web_config = load_web_config(path) if path is not None else WebConfig()
        tls = self.web_config.tls_server_config
        self._tls = tls_context(tls) if tls is not None else None
        users = self.web_config.basic_auth_users
        self.auth = BasicAuth(users) if users else None
        self.discover = settings.databases == [ALL_DATABASES]
        self.databases = database_names(settings)
        self.replicas = replica_dsns(settings)
        self.store = Store(settings.state_dir)
        # A state file written before texts were screened may hold some that carry secrets.
        forgotten = self.store.forget_texts(may_hold_secret)
        if forgotten:
            log.info("store.texts_withheld", texts=forgotten, reason="may hold a secret")
        self.status = RuntimeStatus(self.databases)
        self.registry = make_registry(
            self.status,
            settings.top_statements,
            settings.export_query_text,
            settings.max_application_series,
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        self.stopping = threading.Event()
        self._backoff = {name: _Backoff() for name in self.databases}
        self._running = 0
        self._running_changed = threading.Condition()
        self._connections: set[Connection] = set()
        self._connections_lock = threading.Lock()
        self._http: _Server | None = None
        self._skipped: set[str] = set()
        self._last: dict[str, Snapshot] = {}
        self._replica_last: dict[tuple[str, str], Snapshot] = {}
        # Per database: running totals of the statement counters (never falling), and the
        # queryids whose text was withheld or unavailable (not asked for again).
        self._totals: dict[str, dict[int, StatementCounters]] = {}
        self._textless: dict[str, set[int]] = {}
        # Per database: the applications' connection peaks over the analysis window, in
        # memory only (a restart starts them again; see README "Connection pools").
        self._pool_peaks: dict[str, tuple[PeakBucket, ...]] = {}

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the HTTP server and the scheduler; returns at once."""
        self._http = _Server(self.settings.listen_address, _handler(self), self._tls)
        threading.Thread(target=self._http.serve_forever, name="http", daemon=True).start()
        for name in self.databases:
            self._schedule(name)
        if self.discover:
            self.scheduler.add_job(
                self._discover,
                IntervalTrigger(seconds=DISCOVER_INTERVAL_SECONDS),
                id="discover",
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()
        host, port = self.listen_address
        log.info(
            "daemon.started",
            databases=self.databases,
            listen=f"{host}:{port}",
            tls=self._tls is not None,
            basic_auth=self.auth is not None,
        )

    def _schedule(self, name: str) -> None:
        """Add the collect, analyze and report jobs of one database."""
        now = datetime.now(UTC)
        collect_every = self.settings.collect_interval
        self.scheduler.add_job(
            self._job("collect", name, self.collect),
            IntervalTrigger(seconds=collect_every),
            id=f"collect:{name}",
            next_run_time=now,
        )
        self.scheduler.add_job(
            self._job("analyze", name, self.analyze),
            IntervalTrigger(seconds=self.settings.analyze_interval),
            id=f"analyze:{name}",
            # The first analysis needs a delta: two collections.
            next_run_time=now + timedelta(seconds=collect_every * 2 + 1),
        )
        self.scheduler.add_job(
            self._job("report", name, self.report),
            CronTrigger.from_crontab(self.settings.report_cron, timezone=UTC),
            id=f"report:{name}",
        )

    def _discover(self) -> None:
        """Watch every database of the server: add the ones not watched yet."""
        try:
            with self._session(None) as conn:
                names = [str(row[0]) for row in conn.execute(DATABASES_SQL).fetchall()]
        except (AdvisorError, psycopg.Error) as error:
            log.warning("discover.failed", error=redact(first_line(error)))
            return
        for name in names:
            if name not in self.databases and self._watchable(name):
                self.databases.append(name)
                self._backoff[name] = _Backoff()
                self.status.add(name)
                self._schedule(name)
                log.info("discover.database", database=name)

    @property
    def listen_address(self) -> tuple[str, int]:
        assert self._http is not None
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly."""

        def _stop(signum: int, frame: FrameType | None) -> None:
            log.info("daemon.signal", signal=signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.start()
        self.stopping.wait()
        self.stop()

    def stop(self) -> None:
        """Stop the jobs (cancelling their queries after a grace period), flush, close."""
        self.stopping.set()
        self.scheduler.shutdown(wait=False)
        if not self._wait_idle(self.settings.shutdown_timeout_seconds):
            self._cancel_queries()
            self._wait_idle(2.0)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.store.close()
        log.info("daemon.stopped")

    def _wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        with self._running_changed:
            while self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._running_changed.wait(remaining)
        return True

    def _cancel_queries(self) -> None:
        with self._connections_lock:
            for conn in list(self._connections):
                try:
                    conn.cancel_safe(timeout=1.0)
                except psycopg.Error as error:
                    log.warning("daemon.cancel_failed", error=str(error))

    # ------------------------------------------------------------------ jobs

    def _job(self, job: str, database: str, step: Callable[[str], None]) -> Callable[[], None]:
        """Wrap a step: never raises, records its outcome, honours the collect backoff."""

        def run() -> None:
            if self.stopping.is_set():
                return
            backoff = self._backoff[database]
            if job == "collect" and time.monotonic() < backoff.next_attempt:
                return
            with self._running_changed:
                self._running += 1
            started = time.monotonic()
            bound = log.bind(job=job, database=database)
            try:
                step(database)
            except (AdvisorError, psycopg.Error, OSError) as error:
                self._failed(job, database, started, error)
            except Exception as error:  # a bug: keep the daemon alive, say where
                bound.exception("job.bug")
                self._failed(job, database, started, error)
            else:
                seconds = time.monotonic() - started
                with self.status.edit(database) as editor:
                    editor.job_succeeded(job, seconds, datetime.now(UTC))
                    if job == "collect":
                        editor.update(up=True)
                if job == "collect":
                    self._backoff[database] = _Backoff()
                bound.info("job.done", seconds=round(seconds, 3))
            finally:
                with self._running_changed:
                    self._running -= 1
                    self._running_changed.notify_all()

        return run

    def _failed(self, job: str, database: str, started: float, error: BaseException) -> None:
        seconds = time.monotonic() - started
        message = redact(first_line(error))
        with self.status.edit(database) as editor:
            editor.job_failed(job, seconds, job, message)
            if job == "collect":
                editor.update(up=False)
        if job == "collect":
            backoff = self._backoff[database]
            backoff.failures += 1
            wait = retry_wait(backoff.failures, self.settings.retry_max_seconds)
            backoff.next_attempt = time.monotonic() + wait
            log.warning("job.failed", job=job, database=database, error=message, retry_in=wait)
        else:
            log.warning("job.failed", job=job, database=database, error=message)

    def _watchable(self, database: str) -> bool:
        """Only databases with pg_stat_statements installed have a workload to watch."""
        try:
            with self._session(database) as conn:
                installed = capabilities(conn).pg_stat_statements
        except (AdvisorError, psycopg.Error) as error:
            installed, reason = False, redact(first_line(error))
        else:
            reason = "pg_stat_statements is not installed there"
        if not installed and database not in self._skipped:
            self._skipped.add(database)
            log.info("discover.skipped", database=database, reason=reason)
        return installed

    @contextmanager
    def _session(self, database: str | None, dsn: str | None = None) -> Iterator[Connection]:
        with session(dsn or self.settings.dsn, self.settings, database) as conn:
            with self._connections_lock:
                self._connections.add(conn)
            try:
                yield conn
            finally:
                with self._connections_lock:
                    self._connections.discard(conn)

    def collect(self, database: str) -> None:
        """Snapshot the counters, store the delta since the last snapshot and new texts."""
        with self._session(database) as conn:
            reader = SnapshotReader(conn, database)
            snapshot = reader.take(conn)
            new = self.unknown_queryids(database, snapshot)
            texts = reader.texts(conn, new) if new else {}
            activity = sample_activity(conn, database, self.settings.application_name)
        present = {s.queryid for s in snapshot.statements}
        textless = self._textless.get(database, set()) | (new - texts.keys())
        self._textless[database] = textless & present
        self.record(database, snapshot, texts)
        self.record_activity(database, activity)
        if self.replicas:
            self._collect_replicas(database)

    def _collect_replicas(self, database: str) -> None:
        """Snapshot each replica's index counters of `database` and store the delta since
        the last one, per (database, replica). A replica that cannot be read is shown as
        down (its findings become unknown); the primary's collection stands."""
        previous = self.status.get(database).replicas
        states: dict[str, ReplicaStatus] = {}
        for label, dsn in self.replicas.items():
            try:
                with self._session(database, dsn) as conn:
                    snapshot = take_index_snapshot(conn, database)
            except (AdvisorError, psycopg.Error) as error:
                message = redact(first_line(error))
                log.warning(
                    "collect.replica_failed", database=database, replica=label, error=message
                )
                last = previous.get(label)
                states[label] = ReplicaStatus(
                    False, message, last.last_success_at if last else None
                )
                continue
            self.record_replica(database, label, snapshot)
            states[label] = ReplicaStatus(True, None, snapshot.taken_at)
        with self.status.edit(database) as editor:
            editor.update(replicas=states)

    def record_replica(self, database: str, replica: str, snapshot: Snapshot) -> None:
        """Keep a replica's index snapshot just read, and its delta since the last one."""
        key = (database, replica)
        previous = self._replica_last.get(key) or self.store.last_snapshot(database, replica)
        change = delta(previous, snapshot) if previous is not None else None
        if change is not None and change.reset:
            log.info("collect.reset_detected", database=database, replica=replica)
        self.store.save_poll(snapshot, change, replica)
        self._replica_last[key] = snapshot

    def unknown_queryids(self, database: str, snapshot: Snapshot) -> set[int]:
        """The snapshot's statements whose text the store does not hold yet (and that were
        not withheld, or unavailable, before: the text file is read only for new ones)."""
        return (
            {s.queryid for s in snapshot.statements}
            - self.store.known_queryids(database)
            - self._textless.get(database, set())
        )

    def record(self, database: str, snapshot: Snapshot, texts: Mapping[int, str]) -> None:
        """Keep a snapshot just read (with the texts of its unknown statements): the texts,
        the snapshot and its delta since the last one in the store, the last snapshot in
        memory, the indexes seen, and the busiest statements in the status. Everything
        `collect` does after reading the server (the memory bench drives it too)."""
        if texts:
            self.store.save_texts(database, texts)
        # The last snapshot stays in memory between collections; the store has it after a
        # restart of the daemon.
        previous = self._last.get(database) or self.store.last_snapshot(database)
        change = delta(previous, snapshot) if previous is not None else None
        if change is not None and change.reset:
            log.info("collect.reset_detected", database=database)
        # One transaction: a crash between the two writes would count an interval twice.
        self.store.save_poll(snapshot, change)
        self._last[database] = snapshot
        self.store.observe_indexes(
            database, [(i.table, i.index) for i in snapshot.indexes], snapshot.taken_at
        )
        totals = running_totals(self._totals.get(database, {}), change, snapshot)
        self._totals[database] = totals
        top = busiest(snapshot.statements, self.settings.top_statements)
        texts = self.store.texts(database, [s.queryid for s in top])
        fingerprints = {q: short_fingerprint(t) for q, t in texts.items()}
        with self.status.edit(database) as editor:
            editor.update(
                snapshot=snapshot,
                top_statements=tuple(totals[s.queryid] for s in top),
                texts=texts,
                fingerprints=fingerprints,
            )

    def record_activity(self, database: str, activity: ActivitySample) -> None:
        """Keep a pg_stat_activity sample: the latest in the status, its peaks in the window."""
        window = self.settings.analysis_window_hours * 3600
        peaks = record_peaks(self._pool_peaks.get(database, ()), activity, window)
        self._pool_peaks[database] = peaks
        with self.status.edit(database) as editor:
            editor.update(activity=activity)

    def judge_pools(self, database: str) -> None:
        """Judge the connection pools on the window's samples (no database read)."""
        activity = self.status.get(database).activity
        if activity is None:
            return
        window = self.settings.analysis_window_hours * 3600
        peaks = self._pool_peaks.get(database, ())
        pools = judge_pools(activity, peaks, pool_settings(self.settings), window)
        with self.status.edit(database) as editor:
            editor.update(pools=pools)
        for finding in pools.findings:
            log.info("pools.finding", database=database, kind=finding.kind.value)

    def analyze(self, database: str) -> None:
        """Judge the pools; recommend for the window's workload; track created indexes;
        check index health."""
        now = datetime.now(UTC)
        self.judge_pools(database)
        down = {
            label: state.error or "down"
            for label, state in self.status.get(database).replicas.items()
            if not state.up
        }
        with self._session(database) as conn:
            observation = observe_stored(conn, self.settings, self.store, database, now, down)
            workload = observation.workload
            if not workload.statements and not workload.excluded:
                log.info("analyze.waiting", database=database, reason="no workload collected yet")
                return
            analysis = recommend(conn, self.settings, observation)
            findings = check_health(observation, self.settings, conn).findings
        self._track_created(database, observation.schema, now)
        self._guard(database, observation, now)
        self.store.record_recommendations(database, analysis.recommendations, now)
        self._publish(database, analysis, findings)
        self._publish_windows(database, now)
        removed = self.store.compact(now)
        if removed:
            log.info("store.compacted", database=database, rows=removed)

    def _publish(self, database: str, analysis: Analysis, findings: tuple[Finding, ...]) -> None:
        open_recs = tuple(self.store.recommendations(database, "open"))
        realized = tuple(self.store.realized(database))
        regressions = tuple(self.store.regressions(database))
        with self.status.edit(database) as editor:
            previous = editor.status
            editor.update(
                analysis=analysis,
                findings=findings,
                open_recommendations=open_recs,
                realized=realized,
                regressions=regressions,
                whatif_explains=previous.whatif_explains + analysis.whatif_explains,
                whatif_cache_hits=previous.whatif_cache_hits + analysis.whatif_cache_hits,
            )

    def _publish_windows(self, database: str, now: datetime) -> None:
        """Workload totals of the last hour, day and week, for the exporter."""
        totals: dict[str, tuple[int, float]] = {}
        for label, span in WINDOWS.items():
            window = self.store.window(database, now - span)
            if window is not None:
                calls = sum(s.calls for s in window.statements)
                totals[label] = (calls, sum(s.total_ms for s in window.statements) / 1000)
        with self.status.edit(database) as editor:
            editor.update(windows=totals)

    def _track_created(self, database: str, schema: Schema, now: datetime) -> None:
        """Mark recommendations whose index now exists as created, and measure what each
        created index really saved: the mean time of the statements it was meant to help,
        before (as recommended) and since it was built."""
        existing = {
            index.name for table in schema.tables.values() for index in table.indexes if index.valid
        }
        for rec in self.store.recommendations(database):
            if rec.status != "created" and rec.name in existing:
                self.store.mark_created(database, rec.name, now)
                log.info("recommendation.created", database=database, index=rec.name)
        for rec in self.store.recommendations(database, "created"):
            if rec.created_at is None:
                continue
            after = self.store.window(database, rec.created_at)
            if after is None:
                continue
            helped = {s.queryid for s in rec.statements}
            counters = [s for s in after.statements if s.queryid in helped]
            calls = sum(s.calls for s in counters)
            before_calls = sum(s.calls for s in rec.statements)
            if calls < self.settings.min_calls or before_calls == 0:
                continue
            before = sum(s.mean_ms * s.calls for s in rec.statements) / before_calls
            after_mean = sum(s.total_ms for s in counters) / calls
            self.store.save_realized(database, rec.name, before, after_mean, len(counters), now)

    def _guard(self, database: str, observation: Observation, now: datetime) -> None:
        """Find the statements slower since a created index appeared, and keep them (each
        newly found one is logged as a warning with the statement that undoes the index)."""
        known = {(r.index, r.queryid) for r in self.store.regressions(database)}
        regressions = measure_regressions(self.store, self.settings, observation, now)
        self.store.save_regressions(database, regressions)
        for found in regressions:
            if (found.index, found.queryid) not in known:
                log.warning(
                    "regression.detected",
                    database=database,
                    index=found.index,
                    queryid=found.queryid,
                    before_mean_ms=round(found.before_mean_ms, 3),
                    since_mean_ms=round(found.since_mean_ms, 3),
                    undo=found.undo_sql,
                )

    def report(self, database: str) -> None:
        """Write the dated report and the handoff from the latest results."""
        current = self.status.get(database)
        with self._session(database) as conn:
            paths = report_from_state(
                conn,
                self.settings,
                self.store,
                database,
                current.analysis,
                current.findings,
                datetime.now(UTC),
                per_database=self.discover or len(self.databases) > 1,
                pools=current.pools,
            )
        log.info("report.written", database=database, report=str(paths.report))


# -------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    """The threading HTTP server, speaking TLS when given a context. The handshake runs in
    the request's own thread: a slow or silent client never holds up the accept loop."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(address, handler)
        self.tls = tls

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(TLS_HANDSHAKE_TIMEOUT_SECONDS)
        try:
            connection = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:  # plain HTTP, an unknown CA, a port scan
            log.debug("http.tls_handshake_failed", client=str(client_address), error=str(error))
            return
        try:
            super().finish_request(connection, client_address)
        finally:
            connection.close()


def _handler(daemon: Daemon) -> type[BaseHTTPRequestHandler]:
    headers = daemon.web_config.http_server_config.headers
    auth = daemon.auth

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/health":
                # Liveness stays open: a probe carries no credentials, and the answer tells
                # nothing but that the process runs. Everything else needs them if asked for.
                alive = daemon.scheduler.running and not daemon.stopping.is_set()
                self._json(200 if alive else 503, {"status": "ok" if alive else "stopping"})
                return
            authorized = auth is None or auth.allows(self.headers.get("Authorization"))
            if path == "/ready":
                # Readiness too, for the same probes, but only its status to a stranger:
                # the reasons name hosts, roles and databases.
                self._ready(detailed=authorized)
            elif not authorized:
                self._unauthorized()
            elif path == "/metrics":
                self._send(200, generate_latest(daemon.registry), CONTENT_TYPE_LATEST)
            else:
                self._json(404, {"error": "not found", "paths": ["/metrics", "/health", "/ready"]})

        def _ready(self, detailed: bool) -> None:
            body: dict[str, object] = {}
            statuses = daemon.status.databases()
            ready = bool(statuses)
            for status in statuses:
                collect = status.jobs.get("collect")
                ok = status.up and collect is not None and collect.last_error is None
                ready = ready and ok
                body[status.database] = {
                    "ready": ok,
                    "error": collect.last_error if collect else "no collection yet",
                    # A replica down does not make the advisor unready (the primary is
                    # watched); it makes unused findings unknown, which this says.
                    "replicas": {
                        label: {"up": state.up, "error": state.error}
                        for label, state in sorted(status.replicas.items())
                    },
                }
            code = 200 if ready else 503
            self._json(code, {"ready": ready, "databases": body} if detailed else {"ready": ready})

        def _unauthorized(self) -> None:
            self._send(
                401, b"Unauthorized\n", "text/plain; charset=utf-8", {"WWW-Authenticate": "Basic"}
            )

        def _json(self, code: int, body: object) -> None:
            self._send(code, json.dumps(body).encode(), "application/json")

        def _send(
            self,
            code: int,
            payload: bytes,
            content_type: str,
            extra: Mapping[str, str] | None = None,
        ) -> None:
            self.send_response(code)
            for name, value in {**headers, **(extra or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # scrapes every few seconds would drown the log

    return Handler

"""The ``hub worker`` process: a faust application that runs the stream engines.

faust is the application framework here — the process, its lifecycle and signals, the web server
(``/metrics``, ``/healthz``, ``/readyz`` on ``HUB_WORKER_METRICS_HOST:HUB_WORKER_METRICS_PORT``)
and timers (the ``worker_stats`` line). The record-by-record work does not go through faust's
agents: each processor runs in a :class:`hub.engine.Engine` thread that consumes batches and
commits them in Kafka transactions (the measurements behind that choice are in
docs/architecture.md). faust's own Kafka clients are switched off: the engines own every
connection, so faust creates no topic and joins no consumer group.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import resource
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable

import faust
import mode
from faust.app.base import BootStrategy
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hub import log
from hub.engine import watchdog
from hub.engine.engine import Engine
from hub.engine.metrics import EngineMetrics
from hub.settings import Settings

logger = log.get("hub.worker")
_EXIT_GRACE_S = 90.0  # a stalled worker's shutdown may take this long before the process is ended hard


class _NoKafka(BootStrategy):
    enable_kafka = False  # engines own the Kafka clients; faust runs the web server, timers and services


class _App(faust.App):
    BootStrategy = _NoKafka
    hub_engines: EnginesService  # set by build(), for execute()


class EnginesService(mode.Service):
    """Starts one thread per engine; a thread that dies with an error, or stays stuck inside one step
    of its loop longer than its stall bound (hub.engine.watchdog), crashes the worker (exit 1)."""

    def __init__(self, engines: list[Engine], *, shutdown_s: float = 30.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.engines = engines
        self.shutdown_s = shutdown_s
        self._stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stalled: set[str] = set()

    async def on_start(self) -> None:
        for engine in self.engines:
            t = threading.Thread(target=self._run, args=(engine,), name=f"engine-{engine.p.name}", daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self, engine: Engine) -> None:
        try:
            engine.run(self._stop_event)
        except BaseException:  # noqa: BLE001 - recorded on the engine; the watcher crashes the worker
            return

    @mode.Service.task
    async def _watch(self) -> None:
        while not self.should_stop:
            for engine, thread in zip(self.engines, self._threads, strict=False):
                if not thread.is_alive() and not self._stop_event.is_set():
                    error = engine.error or RuntimeError(f"engine {engine.p.name} stopped")
                    logger.error("worker_crashed", processor=engine.p.name, reason=type(error).__name__,
                                 error=str(error)[:500])
                    await self.crash(error)
                    return
            stalls = watchdog.stalls(zip(self.engines, self._threads, strict=False))
            if stalls and not self._stop_event.is_set():
                for st in stalls:
                    logger.error("worker_stalled", processor=st.name, seconds=st.seconds, where=st.where)
                self.stalled = {st.name for st in stalls}
                # The stuck thread may never return: whatever the shutdown waits for, the process ends.
                hard_exit = threading.Timer(_EXIT_GRACE_S, os._exit, (1,))
                hard_exit.daemon = True
                hard_exit.start()
                first = stalls[0]
                await self.crash(RuntimeError(f"engine {first.name} made no progress for {first.seconds} s"))
                return
            await self.sleep(0.5)

    async def on_stop(self) -> None:
        self._stop_event.set()
        await asyncio.to_thread(self._join)

    def _join(self) -> None:
        deadline = time.monotonic() + self.shutdown_s  # one bound for all threads, not one each
        for engine, t in zip(self.engines, self._threads, strict=False):
            if engine.name not in self.stalled:  # a stuck thread would only delay the exit
                t.join(timeout=max(0.0, deadline - time.monotonic()))

    def running(self) -> list[dict]:
        """The engine threads still alive, with where each one is (code only)."""
        return [{"processor": e.p.name, "where": watchdog.where(t)}
                for e, t in zip(self.engines, self._threads, strict=False) if t.is_alive()]


class Worker(faust.Worker):
    """faust's worker, with a stop that ends in bounded time.

    An engine thread stuck in a client call (librdkafka holds no GIL but never returns) once kept a
    worker alive for minutes after SIGTERM: faust waited for the service that waited for the thread.
    The first SIGTERM or SIGINT arms a timer: when the stop has not finished within
    ``HUB_WORKER_SHUTDOWN_S``, it logs ``worker_shutdown_forced`` and ends the process (exit 1: the
    supervisor must know the stop was not clean; the successor fences the stuck producer). A
    ``SIGALRM`` a few seconds later is the backstop should Python itself be unable to run the timer.
    """

    def __init__(self, app: faust.App, service: EnginesService, shutdown_s: float, **kwargs) -> None:
        super().__init__(app, **kwargs)
        self.engines_service = service
        self.shutdown_s = shutdown_s
        self._armed: threading.Timer | None = None

    def _on_sigterm(self) -> None:
        self._arm(signal.SIGTERM)
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._arm(signal.SIGINT)
        super()._on_sigint()

    def _arm(self, sig: signal.Signals) -> None:
        if self._armed is not None:
            return
        logger.info("worker_stopping", signal=sig.name, bound_s=self.shutdown_s)
        self._armed = threading.Timer(self.shutdown_s, self._force_exit, (sig.name,))
        self._armed.daemon = True
        self._armed.start()
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the default action ends the process
        signal.alarm(math.ceil(self.shutdown_s) + 10)

    def _force_exit(self, sig: str) -> None:
        logger.error("worker_shutdown_forced", signal=sig, seconds=self.shutdown_s,
                     stuck=self.engines_service.running())
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def execute(app: _App, settings: Settings) -> None:
    """Run the app built by :func:`build` until it is stopped (as ``hub worker`` does)."""
    service = app.hub_engines  # set by build()
    # override_logging=False keeps our JSON logging; quiet drops faust's banner on stdout.
    w = Worker(app, service, float(settings.worker_shutdown_s), loglevel=settings.log_level,
               override_logging=False, redirect_stdouts=False, quiet=True)
    w.spinner = None  # a terminal spinner would write escape codes into the JSON log stream
    w.execute_from_commandline()


class Stats:
    """One ``worker_stats`` line per interval: throughput, rejects, duplicates, lag, CPU per event."""

    def __init__(self, engines: list[Engine], totals: Callable[[], dict]) -> None:
        self.engines = engines
        self.totals = totals
        self._last = (time.monotonic(), time.process_time(), dict(totals()))

    def line(self) -> dict:
        now, cpu, totals = time.monotonic(), time.process_time(), dict(self.totals())
        t0, c0, before = self._last
        self._last = (now, cpu, totals)
        delta = {k: totals.get(k, 0) - before.get(k, 0) for k in totals}
        by: dict[str, dict[str, int]] = {}
        for (what, kind), n in delta.items():
            if n:
                by.setdefault(what, {})[kind] = n
        events = sum(n for (what, _k), n in delta.items() if what == "in")
        lag = {}
        for engine in self.engines:
            per_tp = engine.lag()
            engine.metrics.set_lag(engine.p.name, per_tp)
            lag[engine.p.name] = sum(per_tp.values())
        return {"interval_s": round(now - t0, 1), "events_in": by.get("in", {}), "events_out": by.get("out", {}),
                "rejected": by.get("rejected", {}), "duplicate": by.get("duplicate", {}),
                "alerts": by.get("alerts", {}), "lag": lag,
                "events_per_s": round(events / (now - t0), 1) if now > t0 else None,
                "cpu_us_per_event": round((cpu - c0) / events * 1e6, 1) if events else None,
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def log_calendar(calendar, now_ms: int) -> list[int]:
    """One ``calendar_stale`` line per year (current, or next from October) without an official schedule."""
    from hub.analytics.worktime import stale_message, stale_years

    years = stale_years(calendar, now_ms)
    for year in years:
        logger.warning("calendar_stale", reason="calendar_stale", year=year, message=stale_message(year))
    return years


def build(settings: Settings, processors: list, registry: CollectorRegistry, totals: Callable[[], dict]):
    """The faust app, its engines and services, ready for :func:`execute` (faust's worker with a bounded stop)."""
    # mode logs every service's "Starting..."/"Stopping..." under this module's name: lifecycle noise.
    logging.getLogger(__name__).setLevel(max(logging.WARNING, logging.getLogger().level))
    worker_id = settings.worker_id or uuid.uuid4().hex[:12]
    engine_metrics = EngineMetrics(registry)
    engines = [Engine(p, settings, worker_id=worker_id, metrics=engine_metrics) for p in processors]
    for p in processors:
        if p.name == "directives":  # the one processor that counts working days
            log_calendar(p.cfg.calendar, p.now())
    port = settings.worker_metrics_port
    app = _App(settings.app_id, web_enabled=port > 0, web_port=port or 8081, web_bind=settings.worker_metrics_host,
               web_host=settings.worker_metrics_host, datadir=settings.worker_data_dir, autodiscover=False)
    service = EnginesService(engines, shutdown_s=float(settings.worker_shutdown_s))
    app.service(service)  # type: ignore[arg-type]  # faust also starts a service given as an instance
    app.hub_engines = service
    stats = Stats(engines, totals)

    @app.page("/metrics")
    async def metrics(web, request):
        for engine in engines:
            engine.metrics.set_lag(engine.p.name, engine.lag())
        return web.bytes(generate_latest(registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web, request):
        alive = all(t.is_alive() for t in service._threads) and bool(service._threads) and not service.stalled
        return web.json({"status": "ok" if alive else "failed"}, status=200 if alive else 503)

    @app.page("/readyz")
    async def readyz(web, request):
        ready = {e.p.name: e.ready.is_set() for e in engines}
        stuck = [entry for e in engines for entry in e.stuck.snapshot]  # hub.engine.poison.StuckWatch
        ok = all(ready.values()) and not stuck
        status = "stuck" if stuck else "ready" if ok else "starting"
        return web.json({"status": status, "engines": ready, "partition_stuck": stuck}, status=200 if ok else 503)

    @app.timer(float(settings.worker_stats_interval_s))
    async def worker_stats():
        logger.info("worker_stats", worker_id=worker_id, **stats.line())

    return app, engines

"""Delivering stored alert revisions to every sink, in order, retrying with back-off.

The dispatcher never holds alerts of its own: it reads each sink's pending
revisions from the event log (alerts are stored, durably, before any sink can
see them), sends them oldest first, and records each delivery or failure in
the log.  So nothing is lost while a receiver is down or the process restarts:
once the receiver is back, everything still pending is delivered, in order.

* A failing sink backs off exponentially (``base_s · 2^(k-1)`` after the k-th
  consecutive failure, at most ``max_s``, randomised by ±``jitter``); only that
  sink waits, the others carry on.  Its back-off is kept in the log and
  honoured by the next process too.
* A revision a sink can never take (:class:`~skyfence.sinks.base.PermanentSinkError`,
  e.g. a CoT event without a position) is recorded as rejected and skipped, so
  it cannot block the revisions behind it.
* :meth:`Dispatcher.dispatch` never raises and keeps to a time budget: sinks
  are served in turn, one revision each (a sink with ``send_batch``: all its
  pending revisions, up to ``max_per_sink``, in one call, recorded in one
  commit; if the batch raises, they are sent one by one), until nothing is
  pending or the budget is spent (a single send may overrun it by its own timeout, which is
  why the webhook and TAK timeouts are short).
* Delivery is at least once: a revision sent but not recorded (the log failed
  at that moment) is sent again later.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from skyfence.errors import SkyFenceError
from skyfence.sinks.base import PermanentSinkError, Sink

if TYPE_CHECKING:
    from skyfence.sinks.config import SinksConfig
    from skyfence.store import EventLog

__all__ = ["DispatchReport", "Dispatcher"]

log = logging.getLogger("skyfence.sinks")


@dataclass
class DispatchReport:
    """What one :meth:`Dispatcher.dispatch` call did.

    Attributes
    ----------
    now:
        The time the call was given (UTC epoch s).
    delivered, rejected:
        Per sink, revisions delivered / rejected for good in this call.
    failed:
        Per sink that failed in this call, the error (the sink now backs off).
    backing_off:
        Per sink not tried because it is backing off, its next attempt time.
    pending:
        Per sink, revisions still pending after the call.
    budget_exhausted:
        The time budget ran out with revisions still to send.
    errors:
        Failures of the event log itself (nothing is lost; retried next call).
    elapsed_s:
        Wall-clock duration of the call, seconds.
    """

    now: float
    delivered: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    backing_off: dict[str, float] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    budget_exhausted: bool = False
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def total_delivered(self) -> int:
        return sum(self.delivered.values())

    @property
    def total_pending(self) -> int:
        return sum(self.pending.values())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SkyFenceError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Dispatcher:
    """Sends each sink the alert revisions pending for it in the event log.

    Parameters
    ----------
    log:
        The event log (alerts and the delivery outbox).
    sinks:
        The sinks; names must be unique.
    base_s, max_s:
        Back-off after the first failure and its ceiling, seconds.
    jitter:
        Relative randomisation of each back-off, in [0, 1).
    budget_s:
        Time a :meth:`dispatch` call may spend sending, seconds (wall clock).
    max_per_sink:
        Revisions read per sink per call.
    seed:
        Seed of the jitter's random generator (None: from the OS).
    clock:
        Monotonic clock for the budget (seconds).
    """

    def __init__(self, log: EventLog, sinks: Sequence[Sink], *, base_s: float = 1.0,
                 max_s: float = 60.0, jitter: float = 0.1, budget_s: float = 0.5,
                 max_per_sink: int = 100, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        names = [s.name for s in sinks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"sink names must be unique; repeated: {', '.join(dup)}")
        if not base_s > 0 or not max_s >= base_s:
            raise ValueError(f"need 0 < base_s <= max_s; got base_s={base_s}, max_s={max_s}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1); got {jitter}")
        if not budget_s > 0 or max_per_sink < 1:
            raise ValueError("budget_s must be positive and max_per_sink at least 1")
        self.log = log
        self.sinks = list(sinks)
        self.base_s = float(base_s)
        self.max_s = float(max_s)
        self.jitter = float(jitter)
        self.budget_s = float(budget_s)
        self.max_per_sink = int(max_per_sink)
        self.clock = clock
        self._rng = random.Random(seed)
        self._turn = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()

    @classmethod
    def from_config(cls, log: EventLog, config: SinksConfig,
                    sinks: Sequence[Sink] | None = None) -> Dispatcher:
        """A dispatcher with the sinks and ``[dispatch]`` settings of a sinks config."""
        from skyfence.sinks.config import build_sinks

        d = config.dispatch
        return cls(log, build_sinks(config) if sinks is None else sinks,
                   base_s=d.backoff_base_s, max_s=d.backoff_max_s, jitter=d.jitter,
                   budget_s=d.budget_s, max_per_sink=d.max_per_sink)

    def backoff_s(self, failures: int) -> float:
        """Wait after ``failures`` consecutive failures, seconds."""
        delay = min(self.max_s, self.base_s * 2.0 ** max(0, failures - 1))
        if self.jitter:
            delay *= 1.0 + self.jitter * (2.0 * self._rng.random() - 1.0)
        return min(delay, self.max_s)

    def dispatch(self, now: float) -> DispatchReport:
        """Send pending revisions to every sink not backing off; never raises.

        Parameters
        ----------
        now:
            Current time, UTC epoch seconds: compared with each sink's next attempt
            time and recorded as the delivery time.

        Returns
        -------
        DispatchReport
        """
        with self._lock:
            start = self.clock()
            report = DispatchReport(now=float(now))
            try:
                self._dispatch(float(now), start, report)
            except Exception as exc:  # noqa: BLE001 - the pipeline must go on
                report.errors.append(_describe(exc))
                log.error("alert dispatch: %s", _describe(exc))
            report.elapsed_s = self.clock() - start
            return report

    def _dispatch(self, now: float, start: float, report: DispatchReport) -> None:
        queues: dict[str, deque[dict[str, Any]]] = {}
        fails: dict[str, int] = {}
        by_name = {s.name: s for s in self.sinks}
        n = len(self.sinks)
        order = [self.sinks[(self._turn + i) % n] for i in range(n)] if n else []
        self._turn = (self._turn + 1) % max(n, 1)
        for sink in order:
            name = sink.name
            try:
                failures, nxt = self.log.sink_backoff(name)
                # a next-attempt time further ahead than any back-off is a clock jump: ignore
                if (failures and nxt is not None and now < nxt
                        and nxt - now <= self.max_s * (1 + self.jitter) + 1e-6):
                    report.backing_off[name] = nxt
                    continue
                fails[name] = failures
                queues[name] = deque(self.log.pending(name, limit=self.max_per_sink))
            except Exception as exc:  # noqa: BLE001
                report.errors.append(f"{name}: event log: {_describe(exc)}")

        sent_any = False
        one_by_one: set[str] = set()
        while queues:
            for name in list(queues):
                q = queues.get(name)
                if not q:
                    queues.pop(name, None)
                    continue
                if sent_any and self.clock() - start >= self.budget_s:
                    report.budget_exhausted = True
                    queues.clear()
                    break
                sent_any = True
                send_batch = getattr(by_name[name], "send_batch", None)
                if callable(send_batch) and len(q) > 1 and name not in one_by_one:
                    if not self._send_batch(name, send_batch, q, fails, now, report):
                        one_by_one.add(name)      # this call: one by one, to find which
                    if not q:
                        queues.pop(name, None)
                    continue
                alert = q.popleft()
                aid, rev = int(alert["alert_id"]), int(alert["revision"])
                try:
                    by_name[name].send(dict(alert))
                except PermanentSinkError as exc:
                    msg = _describe(exc)
                    log.warning("sink %s rejects alert %d revision %d: %s", name, aid, rev, msg)
                    try:
                        self.log.mark_rejected(name, aid, rev, msg, now)
                        report.rejected[name] = report.rejected.get(name, 0) + 1
                    except Exception as exc2:  # noqa: BLE001
                        report.errors.append(f"{name}: event log: {_describe(exc2)}")
                        queues.pop(name, None)
                    continue
                except Exception as exc:  # noqa: BLE001 - any failure: retry later
                    msg = _describe(exc)
                    k = fails.get(name, 0) + 1
                    nxt = now + self.backoff_s(k)
                    report.failed[name] = msg
                    queues.pop(name, None)
                    log.warning("sink %s: alert %d revision %d not delivered (failure %d, next "
                                "attempt in %.1f s): %s", name, aid, rev, k, nxt - now, msg)
                    try:
                        self.log.record_failure(name, aid, rev, msg, nxt, time=now)
                    except Exception as exc2:  # noqa: BLE001
                        report.errors.append(f"{name}: event log: {_describe(exc2)}")
                    continue
                try:
                    self.log.mark_delivered(name, aid, rev, now)
                except Exception as exc:  # noqa: BLE001 - sent, not recorded: sent again later
                    report.errors.append(f"{name}: event log: {_describe(exc)}")
                    queues.pop(name, None)
                    continue
                if fails.get(name):
                    log.info("sink %s delivers again after %d failure(s)", name, fails[name])
                fails[name] = 0
                report.delivered[name] = report.delivered.get(name, 0) + 1

        for sink in self.sinks:
            try:
                report.pending[sink.name] = self.log.pending_count(sink.name)
            except Exception as exc:  # noqa: BLE001
                report.errors.append(f"{sink.name}: event log: {_describe(exc)}")

    def _send_batch(self, name: str, send_batch: Callable[[list[dict[str, Any]]], None],
                    q: deque[dict[str, Any]], fails: dict[str, int], now: float,
                    report: DispatchReport) -> bool:
        """Send a sink's whole queue in one call and record it in one commit.

        Returns False when the sink raised: the queue is left as it was, for
        the one-by-one sends (which tell a rejected revision from a failure).
        """
        items = list(q)
        try:
            send_batch([dict(a) for a in items])
        except Exception as exc:  # noqa: BLE001 - retried one by one at once
            log.info("sink %s: a batch of %d failed (%s); sending one by one", name,
                     len(items), _describe(exc))
            return False
        q.clear()
        try:
            self.log.mark_delivered_many(
                name, [(int(a["alert_id"]), int(a["revision"])) for a in items], now)
        except Exception as exc:  # noqa: BLE001 - sent, not recorded: sent again later
            report.errors.append(f"{name}: event log: {_describe(exc)}")
            return True
        if fails.get(name):
            log.info("sink %s delivers again after %d failure(s)", name, fails[name])
        fails[name] = 0
        report.delivered[name] = report.delivered.get(name, 0) + len(items)
        return True

    # ------------------------------------------------------------------ background mode

    def start(self, interval_s: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        """Dispatch in a background thread every ``interval_s`` (sooner after :meth:`wake`).

        ``clock`` gives ``now`` for each call (UTC epoch seconds, default the wall clock).
        """
        if self._thread is not None:
            raise RuntimeError("the dispatcher is already running")
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                report = self.dispatch(clock())
                if report.budget_exhausted:
                    continue
                self._wake.wait(interval_s)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="skyfence-dispatch", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Dispatch now in the background thread (call after storing alerts)."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the background thread (waits for the call in progress up to ``timeout_s``)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout_s)

    def close(self) -> None:
        """Stop the background thread and close the sinks that have ``close()``."""
        self.stop()
        for sink in self.sinks:
            closer = getattr(sink, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception as exc:  # noqa: BLE001
                    log.warning("closing sink %s: %s", sink.name, _describe(exc))

"""Imports and pushes started from the web, run in a thread each, with their progress kept in memory.

The host keeps no progress of its own; this serve process remembers, per app, the last run it started, so a
page can poll ``/jobs`` and never look frozen. A restart forgets them (the apps' last import and push stay).

When serve stops (SIGTERM, Ctrl-C), ``stop_all`` ends the running ones as the scheduler ends its units: their next
request to the marketplace is not sent, so each ends after the page it stored (committed), and serve waits for that
a bounded time.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..context import Progress
from ..errors import LinkolisError
from ..http import Deferred, deferring


@dataclass
class Job(Progress):
    workspace_id: int
    app_id: int
    app_name: str
    what: str  # "import" or "push"
    state: str = "running"  # running, finished, failed, stopped (serve stopped it after the page in hand)
    done: int = 0
    total: int | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] = field(default_factory=dict)  # why it failed, as data (``LinkolisError.as_data``)
    started: float = field(default_factory=time.time)

    def start(self, label: str, total: int | None = None) -> None:
        self.total = total

    def advance(self, n: int = 1) -> None:
        self.done += n


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[tuple[int, int, str], Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.stop = threading.Event()  # set by ``stop_all``: each running job ends after the page in hand

    def start(self, job: Job, work: Callable[[Job], dict[str, Any]]) -> Job:
        """Run ``work`` in a thread unless the same app's same job is already running; return the job."""
        key = (job.workspace_id, job.app_id, job.what)
        with self._lock:
            running = self._jobs.get(key)
            if running is not None and running.state == "running":
                return running
            self._jobs[key] = job

        def run() -> None:
            try:
                with deferring(math.inf, self.stop):  # quota waits as they come; once stopping, no next request
                    job.summary = work(job)
                job.state = "finished"
            except Deferred:  # serve stops: what was stored stays, the next run goes on from there
                job.state = "stopped"
            except LinkolisError as exc:
                job.error, job.state = exc.as_data(), "failed"
            except Exception as exc:  # a thread must report, not die silently
                job.error, job.state = {"code": "unexpected", "message": type(exc).__name__}, "failed"

        thread = threading.Thread(target=run, name=f"linkolis-{job.what}-{job.app_id}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def stop_all(self, grace: float) -> None:
        """No next request for any running job: each ends after the page it stored; wait at most ``grace`` seconds
        in all for them."""
        self.stop.set()
        deadline = time.monotonic() + grace
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def of_workspace(self, workspace_id: int) -> list[Job]:
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.workspace_id == workspace_id), key=lambda j: j.started)

"""`linkolis worker`'s queue, without running a worker: a unit is queued once however often it is asked for, the
queue's counts are what `sync status` shows, and the worker refuses a store it cannot share. (Two workers serving
sellers, one killed: plugins/amazon/tests/test_workers.py.)"""

from __future__ import annotations

import time

import psycopg
import pytest
from helpers import KeptQueue

from linkolis_host import installed, worker
from linkolis_host.host import Host
from linkolis_host.testing import Run


def test_a_unit_is_queued_once_however_often_it_is_asked_for(postgres_url, tmp_path):
    queue = worker.Queue(postgres_url)
    try:
        assert queue.unit(7, "import") is True
        assert queue.unit(7, "import") is False  # one waits already: the wake asks every 10 s
        assert queue.unit(7, "push", at=time.time() + 600) is True
        assert queue.unit(8, "import", at=time.time() + 600) is True
        assert queue.reader("amazon") is True and queue.reader("amazon") is False
    finally:
        queue.close()
    host = Host(tmp_path / "home", env={"LINKOLIS_DATABASE_URL": postgres_url})
    try:
        waiting = worker.queued(host)
        assert set(waiting) == {(7, "import"), (7, "push"), (8, "import")}
        assert waiting[(7, "import")]["status"] == "todo"
        assert waiting[(7, "push")]["due_at"] > time.time() + 500
        status = worker.queue_status(host)
        assert status["queues"]["import"] == {"due": 1, "later": 1, "running": 0}
        assert status["queues"]["push"] == {"due": 0, "later": 1, "running": 0}
        assert status["queues"]["notifications"] == {"due": 1, "later": 0, "running": 0}
        assert status["workers"] == 0
        # One `linkolis worker` process beats as two queue workers (pushes, imports): it is one process alive.
        host.db.execute("INSERT INTO procrastinate_workers DEFAULT VALUES")
        host.db.execute("INSERT INTO procrastinate_workers DEFAULT VALUES")
        assert worker.queue_status(host)["workers"] == 1
    finally:
        host.close()


def test_a_push_waiting_out_an_errors_retry_is_brought_forward_and_only_that(postgres_url):
    queue = worker.Queue(postgres_url)
    try:
        queue.unit(7, "push", at=time.time() + 600)  # after an error, `interval` later
        queue.unit(8, "push")  # due now already
        assert queue.forward([7, 8, 9], "push") == 1, "only the later one moves; app 9 has no job"
        assert queue.unit(7, "push") is False, "still one job per unit"
    finally:
        queue.close()
    with psycopg.connect(postgres_url) as conn:
        [(later,)] = conn.execute(
            "SELECT scheduled_at > now() FROM procrastinate_jobs WHERE queueing_lock = 'app-7-push'"
        ).fetchall()
    assert later is False


def test_sync_status_shows_the_task_queue(postgres_url, tmp_path):
    queue = worker.Queue(postgres_url)
    queue.unit(1, "import")
    queue.close()
    with Host(tmp_path / "home", env={"LINKOLIS_DATABASE_URL": postgres_url}) as host:
        run = Run(host)
        assert run.json("sync", "status")["queue"]["queues"]["import"]["due"] == 1
        assert "Task queue (0 workers alive): push 0 due" in run("sync", "status").stdout


@pytest.mark.sqlite_only("the worker's refusal of the SQLite file")
def test_the_worker_refuses_the_sqlite_file_and_says_what_to_set(run):
    result = run("worker", code=1)
    assert "LINKOLIS_DATABASE_URL" in result.stderr and "sync --watch" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sqlite_only("what sync status shows on SQLite")
def test_the_queue_is_none_on_sqlite(host):
    assert worker.queue_status(host) is None


@pytest.mark.parametrize("flag", ["--concurrency", "--push-concurrency", "--grace", "--interval"])
def test_worker_help_explains_each_option(run, flag):
    assert flag in run("worker", "--help").stdout


def test_a_push_that_sent_what_was_due_is_idle_not_due(app, host, run):
    """A worker's push is queued by the wake when there is something to send, not at a time: once it has sent what
    was due, the seller reads that stock is sent when it changes, and `sync status` counts no unit ready."""
    app_id = installed.get(host, app).id
    queue = KeptQueue()
    runner = worker.Worker(host, queue, interval=60.0, poll=1.0)
    try:
        runner.unit(app_id, "import")
        runner.unit(app_id, "push")
    finally:
        runner.close()
    assert [(a, s) for a, s, _ in queue.units] == [(app_id, "import")]  # the import queues its next round itself
    units = {u["stream"]: u for u in run.json("sync", "status")["units"]}
    assert units["push"]["state"] == "idle" and units["import"]["state"] == "waiting"
    assert run.json("sync", "status")["queue_depth"] == 0
    assert "idle" in run("sync", "status").stdout

"""`linkolis worker` when things go wrong around it: a malformed database URL is refused without showing it; a
stalled worker's job goes back to the queue once, and never while another worker runs it; a unit whose job fails
before it queued its next time is queued anyway; a wake that fails halfway asks for the same changes again; and a
worker whose database goes away exits, so that its supervisor starts it again instead of it idling for ever."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import KeptQueue

from linkolis_host import installed, stock, worker
from linkolis_host.cli import cli


@pytest.mark.no_store
@pytest.mark.parametrize(
    "url",
    ["postgresql://anna:p%zzsecret@localhost/shop", "mysql://anna:secret@localhost/shop"],
    ids=["not percent-encoded", "not postgresql"],
)
def test_a_malformed_database_url_is_refused_without_showing_it(url, tmp_path):
    env = {"LINKOLIS_HOME": str(tmp_path / "home"), "LINKOLIS_DATABASE_URL": url}
    result = CliRunner().invoke(cli, ["apps", "list"], env=env)
    assert result.exit_code == 1, result.output
    assert "LINKOLIS_DATABASE_URL" in result.stderr
    assert "secret" not in result.output and "Traceback" not in result.output


def test_a_unit_that_fails_before_it_queued_its_next_time_is_queued_anyway(app, host, monkeypatch):
    app_id = installed.get(host, app).id
    queue = KeptQueue()
    runner = worker.Worker(host, queue, interval=60.0, poll=1.0)

    def fails(*args, **kwargs):
        raise ConnectionError("the database went away a moment")

    monkeypatch.setattr(runner.runner, "run_unit", fails)
    try:
        runner.unit(app_id, "push")  # the job ends; it raises nothing Procrastinate would keep as a failed job
    finally:
        runner.close()
    [(queued_app, stream, at)] = queue.units
    assert (queued_app, stream) == (app_id, "push")
    assert at == pytest.approx(time.time() + runner.runner.write_retry, abs=2.0)


def test_a_wake_that_fails_halfway_asks_for_the_same_stock_changes_again(app, host, run):
    app_id = installed.get(host, app).id
    queue = KeptQueue(fail=1)
    runner = worker.Worker(host, queue, interval=60.0, poll=1.0)
    wake = worker.Wake(runner, poll=1.0)
    wake.version = stock.changed_workspaces(host, 0)[1]  # what was there before: seen
    try:
        run("stock", "set", "SKU-0", "5")
        with pytest.raises(ConnectionError):
            wake.once()  # queueing the push failed
        wake.once()
    finally:
        wake.host.close()
        runner.close()
    assert (app_id, "push", None) in queue.units, "the change is not lost with the wake that failed"


def test_a_stock_change_brings_forward_a_push_waiting_out_an_error_not_one_waiting_for_quota(
    app, host, run, monkeypatch
):
    app = installed.get(host, app)
    monkeypatch.setattr(worker, "queued", lambda host: {(app.id, "import"): {}})  # no task queue in this story
    monkeypatch.setattr(worker, "readers_queued", lambda host: set())
    queue = KeptQueue()
    queue.waiting.add((app.id, "push"))  # its job waits already
    runner = worker.Worker(host, queue, interval=60.0, poll=1.0)
    wake = worker.Wake(runner, poll=1.0)
    wake.version = stock.changed_workspaces(host, 0)[1]
    state = {"app_id": app.id, "stream": "push", "app_name": app.name, "workspace_id": app.workspace_id}
    try:
        host.db["scheduler_state"].upsert(
            {**state, "state": "waiting", "due_at": time.time() + 60, "last_error": "Amazon answered 500",
             "updated_at": time.time(), "pid": 1},
            pk=("app_id", "stream"),
        )  # fmt: skip
        run("stock", "set", "SKU-0", "5")
        wake.once()
        assert queue.forwarded == [(app.id, "push")], "the change may cure the error: sent now, as sync --watch does"

        host.db.execute("UPDATE scheduler_state SET last_error = '' WHERE app_id = ?", (app.id,))  # a quota's wait
        run("stock", "set", "SKU-0", "6")
        wake.once()
        assert queue.forwarded == [(app.id, "push")], "a push waiting for its token would only wait again"
    finally:
        wake.host.close()
        runner.close()


def test_a_stalled_workers_job_goes_back_once_and_never_one_another_worker_took(postgres_url):
    app = worker.queue_app(postgres_url)
    worker.ensure_schema(postgres_url)

    async def story() -> list[tuple[str, int | None]]:
        async with app.open_async():
            jobs = app.job_manager
            stalled_id, other_id = await jobs.register_worker(), await jobs.register_worker()
            await app.configure_task(worker.UNIT, queue=worker.IMPORT_QUEUE, queueing_lock="app-1-import").defer_async(
                app_id=1, stream="import"
            )
            job = await jobs.fetch_job(queues=None, worker_id=stalled_id)
            seen_stalled = job.evolve(worker_id=stalled_id) if job.worker_id is None else job
            # Two processes found it stalled; the first gives it back and another worker takes it meanwhile.
            await worker._give_back(app, seen_stalled)
            taken = await jobs.fetch_job(queues=None, worker_id=other_id)
            assert taken.id == job.id
            await worker._give_back(app, seen_stalled)  # the second process's stale list: the job is left alone
            rows = await app.connector.execute_query_all_async(
                "SELECT status::text AS status, worker_id FROM procrastinate_jobs"
            )
            return [(r["status"], r["worker_id"]) for r in rows], other_id

    rows, other_id = asyncio.run(story())
    assert rows == [("doing", other_id)]


@pytest.mark.no_store  # its own server, stopped under it
def test_a_worker_whose_database_goes_away_exits_so_its_supervisor_starts_it_again(tmp_path):
    from linkolis_host.testing.postgres import PostgresServer, server_bin

    if server_bin() is None:
        pytest.skip("no PostgreSQL server on this machine (apt-get install postgresql)")
    server = PostgresServer.start()
    try:
        url = server.create_database("shop")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINKOLIS_")}
        env.update(LINKOLIS_HOME=str(tmp_path / "home"), LINKOLIS_DATABASE_URL=url, LINKOLIS_LOAD_PLUGINS="")
        command = [str(Path(sys.executable).with_name("linkolis")), "worker", "--stalled-after", "6"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while process.poll() is None and not _workers_alive(url) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert process.poll() is None, process.communicate()
            server.stop()  # the database goes away (a restart, a failover)
            stopped = time.monotonic()
            out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        server.stop()
    assert process.returncode == 1, (out, err)
    assert "Error: the task queue stopped serving" in err
    assert time.monotonic() - stopped < 60, "within the queue's pool timeout and a heartbeat or two"
    assert err.count("the wake of the queue failed") <= 1, "said once, not every second"


def _workers_alive(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT COUNT(*) FROM procrastinate_workers").fetchone()[0] >= 2
    except psycopg.Error:
        return False


def test_one_process_of_all_leads_the_wake_and_the_next_leads_when_it_is_gone(postgres_url):
    from linkolis_host import locks

    ask = [
        sys.executable,
        "-c",
        f"from linkolis_host import locks; print(locks.lead({postgres_url!r}, {worker.WAKE_LEAD}))",
    ]
    assert locks.lead(postgres_url, worker.WAKE_LEAD) and locks.lead(postgres_url, worker.WAKE_LEAD)
    assert subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip() == "False"
    locks.forget(postgres_url)  # this process is done with the database (or died): its lead goes with it
    assert subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip() == "True"

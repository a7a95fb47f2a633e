"""How fast the host stores imported orders, and how much memory it takes: not a test, a script that prints figures.

    .venv/bin/python bench/host_import.py            # N = 10,000 and 100,000
    .venv/bin/python bench/host_import.py 5000 50000

Each N runs in a fresh subprocess (so the peak RSS is that run's), into a fresh database, through
``linkolis_host.orders.import_orders`` with a synthetic plugin that yields batches of 100 orders of 3 lines each.
"Plugin" is the time spent making the orders (the plugin's share), "host" the rest: validating, storing,
committing each batch with its cursor, and what the orders hold of the stock. Targets: >= 10,000 orders/s, and peak
RSS < 150 MB at 100,000, flat in N.

Each N runs twice. ``open``: every order unshipped, so each of its 3 lines reserves (the stock loop writes a row of
``line_stock``, a ledger line and its SKU's level per line, 5,000 SKUs): the worst case, a backlog of open orders.
``history``: every order shipped long before the stock was counted, as in a first import of past orders: nothing
moves, and nothing of the stock loop is written.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from linkolis_host import (
    AppKind,
    AppSettings,
    CredentialField,
    Credentials,
    HealthCheck,
    Order,
    OrderBatch,
    OrderLine,
    StockOutcome,
    VirtualClock,
    apps,
    hookimpl,
    orders,
)
from linkolis_host.host import Host

BATCH = 100
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Synthetic:
    """A marketplace plugin whose marketplace is a loop: order i, updated at second i, three lines."""

    def __init__(self, n: int, status: str = "unshipped") -> None:
        self.n, self.status = n, status
        self.making = 0.0  # seconds spent making orders: the plugin's share

    @hookimpl
    def configure_fields(self) -> AppKind:
        class Settings(AppSettings):
            name: str = Field("Synthetic", title="Application name", description="How this app is called")

        return AppKind(
            kind="synthetic",
            title="Synthetic",
            description="Orders from a loop",
            settings=Settings,
            oauth=False,
            direct_credentials=[CredentialField(name="token", label="Token")],
        )

    @hookimpl
    def authorize(self, ctx, step, params):
        return Credentials(account_id="BENCH", secrets={"token": "bench-token"})

    @hookimpl
    def import_orders(self, ctx, cursor):
        start = (cursor or {}).get("next", 0)
        for first in range(start, self.n, BATCH):
            began = time.perf_counter()
            page = [self._order(i) for i in range(first, min(first + BATCH, self.n))]
            batch = OrderBatch(orders=page, cursor={"next": first + len(page)})
            self.making += time.perf_counter() - began
            yield batch

    def _order(self, i: int) -> Order:
        stamp = EPOCH + timedelta(seconds=i)
        price = Decimal("12.34")
        return Order(
            marketplace_order_id=f"ORDER-{i:09d}",
            marketplace="XX",
            status=self.status,
            marketplace_status=self.status.capitalize(),
            fulfilled_by="merchant",
            created_at=stamp,
            updated_at=stamp,
            currency="EUR",
            total=price * 3,
            lines=[
                OrderLine(
                    line_id=str(k),
                    sku=f"SKU-{(i + k) % 5000}",
                    title="A thing",
                    quantity_ordered=1,
                    quantity_shipped=1 if self.status == "shipped" else 0,
                    unit_price=price,
                    subtotal=price,
                    total=price,
                )
                for k in range(3)
            ],
        )

    @hookimpl
    def push_stock(self, ctx, items):
        return [StockOutcome(sku=i.sku, quantity=i.quantity, status="accepted") for i in items]

    @hookimpl
    def health_check(self, ctx):
        return [HealthCheck(name="loop", status="ok")]


def one(n: int, status: str = "unshipped") -> dict:
    plugin = Synthetic(n, status)
    with tempfile.TemporaryDirectory(prefix="linkolis-bench-") as home:
        host = Host(Path(home), clock=VirtualClock(), extra_plugins=[plugin], env={})
        try:
            apps.install(host, "synthetic", {})
            apps.authorize_direct(host, "Synthetic", {"token": "bench-token"})
            began, cpu_began = time.perf_counter(), time.process_time()
            summary = orders.import_orders(host, "Synthetic")
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
            stored = host.db["orders"].count
            lines = host.db["order_lines"].count
        finally:
            host.close()
    assert summary["new"] == n and stored == n and lines == 3 * n, (summary, stored, lines)
    return {
        "n": n,
        "seconds": round(seconds, 3),
        "cpu_s": round(cpu, 3),  # this process's CPU over the same span: what a busy machine's waits leave out
        "orders_per_s": round(n / seconds),
        "host_orders_per_s": round(n / (seconds - plugin.making)),
        "plugin_s": round(plugin.making, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(one(int(argv[1]), argv[2])))
        return
    sizes = [int(a.replace(",", "").replace("_", "")) for a in argv] or [10_000, 100_000]
    print(f"{'orders':>9} {'kind':>8} {'seconds':>8} {'orders/s':>9} {'host only':>10} {'plugin s':>9} {'peak RSS':>9}")
    for n in sizes:
        for kind, status in (("open", "unshipped"), ("history", "shipped")):
            out = subprocess.run([sys.executable, __file__, "--one", str(n), status], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"N={n} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['n']:>9,} {kind:>8} {r['seconds']:>8.2f} {r['orders_per_s']:>9,} {r['host_orders_per_s']:>10,} "
                f"{r['plugin_s']:>9.2f} {r['peak_rss_mb']:>6.1f} MB"
            )
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1:])

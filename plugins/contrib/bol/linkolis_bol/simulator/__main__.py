"""``python -m linkolis_bol.simulator``: serve a simulated bol on loopback until interrupted."""

from __future__ import annotations

import argparse
import sys
import time

from linkolis_host import SystemClock

from .app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m linkolis_bol.simulator",
        description="A local bol Retailer API v10 (login, orders, offers, process statuses), checked against "
        "bol's specification. Point the bol app at it with LINKOLIS_BOL_ENDPOINT=<the printed URL>.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8330, help="port (default: 8330; 0: any free port)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated shop (default: 1)")
    parser.add_argument("--orders", type=int, default=200, help="orders to generate (default: 200)")
    parser.add_argument("--offers", type=int, default=40, help="offers to generate (default: 40)")
    parser.add_argument("--days", type=int, default=10, help="days the orders are spread over (default: 10)")
    parser.add_argument(
        "--process-seconds",
        type=float,
        default=1.0,
        help="seconds until a stock update's process status is final (default: 1)",
    )
    parser.add_argument(
        "--validate-responses", action="store_true", help="check every answer against bol's spec as well (slower)"
    )
    args = parser.parse_args(argv)
    sim = Simulator(
        SystemClock(),
        seed=args.seed,
        orders=args.orders,
        offers=args.offers,
        order_window_days=args.days,
        process_seconds=args.process_seconds,
        validate_responses=args.validate_responses,
    )
    with sim.serve(args.host, args.port) as base_url:
        print(
            f"bol simulator on {base_url}  client id {DEFAULT_CLIENT_ID}  client secret {DEFAULT_CLIENT_SECRET}",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

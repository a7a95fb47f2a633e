"""``python -m linkolis_bol.simulator``: serve a simulated bol on loopback until interrupted, and print the settings
that point linkolis at it."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from contextlib import ExitStack

from linkolis_host import SystemClock

from .app import Simulator

DESCRIPTION = """\
Serve a local bol (login and Retailer API v10: orders, offers, stock, shipments, process statuses) on this
machine, every request and answer checked against bol's specification, and print the settings that point
linkolis at it, ready to paste (LINKOLIS_BOL_ENDPOINT, or `endpoint` under [plugins.bol] in linkolis.toml).
One base URL serves bol's login and its API. The Client ID and Client Secret it prints are the simulator's own
throwaway values: paste them into the bol app's panel as a seller would from the Seller Portal.
"""
EXAMPLES = """\
Examples:
  python -m linkolis_bol.simulator
      on port 8330; paste the printed `export` line into the shell that runs linkolis
  python -m linkolis_bol.simulator --port 0 --orders 10000 --offers 2000
      a bigger shop on any free port
  python -m linkolis_bol.simulator --process-seconds 30 --validate-responses
      bol slow to settle process statuses, every answer checked against the spec too
"""


def linkolis_settings(base_url: str, sim: Simulator, host: str) -> str:
    """The operator settings that point linkolis at this simulator (names and meaning: linkolis_bol/settings.py),
    as shell exports and as linkolis.toml, and the seller's commands that install an app with its credentials."""
    settings: dict[str, str | bool] = {"endpoint": base_url}
    if host not in ("127.0.0.1", "localhost", "::1"):
        settings["allow_insecure_endpoint"] = True  # plain HTTP to another machine: linkolis asks to be told
    exports = [
        f"export LINKOLIS_BOL_{name.upper()}={shlex.quote('1' if value is True else str(value))}"
        for name, value in settings.items()
    ]
    toml = [f"{name} = {'true' if value is True else json.dumps(value)}" for name, value in settings.items()]
    return "\n".join(
        [
            "# Point linkolis at this simulator: paste into the shell that runs linkolis,",
            *exports,
            "# or put into $LINKOLIS_HOME/linkolis.toml:",
            "[plugins.bol]",
            *toml,
            "# Then install a bol app with the simulator's credentials (the secret is asked for: paste it there):",
            "# linkolis apps install bol --name 'bol NL'",
            f"# linkolis apps authorize 'bol NL' --credential client_id={sim.client_id} --credential client_secret=-",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m linkolis_bol.simulator",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        help="seconds until a stock update's or shipment's process status is final (default: 1)",
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
    serving = ExitStack()
    try:
        base_url = serving.enter_context(sim.serve(args.host, args.port))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        print(
            "\n".join(
                [
                    f"bol simulator listening on {base_url}",
                    "Simulator's throwaway credentials (not bol secrets; valid only here):",
                    f"  Client ID      {sim.client_id}",
                    f"  Client Secret  {sim.client_secret}",
                    "",
                    linkolis_settings(base_url, sim, args.host),
                    "",
                    "Ctrl-C stops it.",
                ]
            ),
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        serving.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

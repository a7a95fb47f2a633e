"""``python -m linkolis_bol.simulator``: serve a simulated bol on loopback until interrupted, and print the settings
that point linkolis at it."""

from __future__ import annotations

import argparse
import sys

from linkolis_host.testing.simulator import clock_of, command_line, linkolis_settings, serve_until_interrupted

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


def settings(base_url: str, sim: Simulator, host: str) -> str:
    """The operator settings that point linkolis at this simulator (names and meaning: linkolis_bol/settings.py),
    as shell exports and as linkolis.toml, and the seller's commands that install an app with its credentials."""
    return linkolis_settings(
        "bol",
        {"endpoint": base_url},
        host,
        after=[
            "# Then install a bol app with the simulator's credentials (the secret is asked for: paste it there):",
            "# linkolis apps install bol --name 'bol NL'",
            f"# linkolis apps authorize 'bol NL' --credential client_id={sim.client_id} --credential client_secret=-",
        ],
    )


def describe(sim: Simulator, base_url: str, args: argparse.Namespace) -> list[str]:
    """What the command prints once it listens: the base URL, the throwaway credentials, and the settings."""
    return [
        f"bol simulator listening on {base_url}",
        "Simulator's throwaway credentials (not bol secrets; valid only here):",
        f"  Client ID      {sim.client_id}",
        f"  Client Secret  {sim.client_secret}",
        "",
        settings(base_url, sim, args.host),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = command_line("python -m linkolis_bol.simulator", DESCRIPTION, EXAMPLES, port=8330, seed=1)
    parser.add_argument("--orders", type=int, default=200, help="orders to generate (default: 200)")
    parser.add_argument("--offers", type=int, default=40, help="offers to generate (default: 40)")
    parser.add_argument("--days", type=int, default=10, help="days the orders are spread over (default: 10)")
    parser.add_argument(
        "--process-seconds",
        type=float,
        default=1.0,
        help="seconds until a stock update's or shipment's process status is final (default: 1)",
    )
    args = parser.parse_args(argv)
    return serve_until_interrupted(
        lambda: Simulator(
            clock_of(args),
            seed=args.seed,
            orders=args.orders,
            offers=args.offers,
            order_window_days=args.days,
            process_seconds=args.process_seconds,
            validate_responses=args.validate_responses,
        ),
        args,
        lambda sim, base_url: describe(sim, base_url, args),
    )


if __name__ == "__main__":
    sys.exit(main())

"""``python -m linkolis_bol.simulator``: serve a simulated bol on loopback until interrupted, and print the settings
that point linkolis at it."""

from __future__ import annotations

import argparse
import sys

from linkolis_host.testing.simulator import (
    add_notify_options,
    clock_of,
    command_line,
    notify_faults,
    printout,
    serve_until_interrupted,
    shop_options,
)

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
  python -m linkolis_bol.simulator --sqs-endpoint http://127.0.0.1:5056 --notify-duplicate 0.5
      ORDER pushes to the SQS queue an AWS_SQS subscription's url names (moto's server here), half of them twice
"""


def describe(sim: Simulator, base_url: str, args: argparse.Namespace) -> list[str]:
    """What the command prints once it listens: the base URL, the throwaway credentials, the operator settings that
    point linkolis at it (names and meaning: linkolis_bol/settings.py), and the seller's commands that install an
    app with its credentials."""
    return printout(
        args,
        base_url,
        name="bol simulator",
        marketplace="bol",
        credentials={"Client ID": sim.client_id, "Client Secret": sim.client_secret},
        notes=[
            f"  ORDER pushes go to {args.sqs_endpoint}"
            if args.sqs_endpoint
            else "  no --sqs-endpoint: ORDER pushes are not delivered"
        ],
        plugin_id="bol",
        settings={"endpoint": base_url},
        after=[
            "# Then install a bol app with the simulator's credentials (the secret is asked for: paste it there):",
            "# linkolis apps install bol --name 'bol NL'",
            f"# linkolis apps authorize 'bol NL' --credential client_id={sim.client_id} --credential client_secret=-",
        ],
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = command_line("python -m linkolis_bol.simulator", DESCRIPTION, EXAMPLES, port=8330, seed=1, days=10)
    parser.add_argument("--offers", type=int, default=40, help="offers to generate (default: 40)")
    parser.add_argument(
        "--process-seconds",
        type=float,
        default=1.0,
        help="seconds until a stock update's or shipment's process status is final (default: 1)",
    )
    add_notify_options(parser, "ORDER pushes go to (each to the queue its AWS_SQS subscription's url names)")
    return parser.parse_args(argv)


def build(args: argparse.Namespace, clock=None) -> Simulator:
    return Simulator(
        clock or clock_of(args),
        **shop_options(args),
        offers=args.offers,
        process_seconds=args.process_seconds,
        sqs_endpoint=args.sqs_endpoint,
        notify_faults=notify_faults(args),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return serve_until_interrupted(
        lambda clock: build(args, clock), args, lambda sim, base_url: describe(sim, base_url, args)
    )


if __name__ == "__main__":
    sys.exit(main())

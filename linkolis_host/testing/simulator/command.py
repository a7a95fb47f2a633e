"""What every simulator's ``python -m`` shares: the common options, serving until interrupted, and printing the
operator settings that point linkolis at it, ready to paste.

A simulator's ``__main__``::

    def main(argv=None):
        parser = command_line("python -m my_shop.simulator", DESCRIPTION, EXAMPLES)
        parser.add_argument("--products", type=int, default=20)
        args = parser.parse_args(argv)
        return serve_until_interrupted(
            lambda clock: Simulator(clock, **shop_options(args), products=args.products),
            args,
            lambda sim, base_url: printout(
                args, base_url, name="my shop simulator", marketplace="my shop", credentials={"API key": sim.api_key},
                plugin_id="myshop", settings={"endpoint": base_url},
            ),
        )
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from linkolis_host.clock import Clock, ScaledClock, SystemClock

from .base import BaseSimulator
from .server import base_url_of, is_loopback

S = TypeVar("S", bound=BaseSimulator)


def command_line(
    prog: str,
    description: str,
    examples: str,
    *,
    port: int = 0,
    seed: int = 0,
    orders: int = 200,
    days: float = 30.0,
) -> argparse.ArgumentParser:
    """A parser with the options every simulator has: ``--host``, ``--port``, ``--allow-non-loopback``, ``--seed``,
    ``--orders``, ``--days``, ``--time-scale`` and ``--validate-responses`` (``shop_options`` hands the ones that
    shape the shop to its constructor); ``description`` first, then the options, then ``examples``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; loopback only unless --allow-non-loopback)",
    )
    parser.add_argument("--port", type=int, default=port, help=f"port (default: {port}; 0: any free port)")
    parser.add_argument(
        "--allow-non-loopback", action="store_true", help="allow listening on a non-loopback address (not recommended)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=seed,
        help=f"seed of generated data, ids and random faults (default: {seed})",
    )
    parser.add_argument("--orders", type=int, default=orders, help=f"orders generated (default: {orders})")
    parser.add_argument(
        "--days", type=float, default=days, help=f"days back the orders are spread over (default: {days:g})"
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second (default: 1)")
    parser.add_argument(
        "--validate-responses", action="store_true", help="check every answer against the marketplace's spec (slower)"
    )
    return parser


def shop_options(args: argparse.Namespace) -> dict[str, Any]:
    """The common options as a simulator's keyword arguments: ``seed``, ``orders``, ``order_window_days`` and
    ``validate_responses``."""
    return {
        "seed": args.seed,
        "orders": args.orders,
        "order_window_days": args.days,
        "validate_responses": args.validate_responses,
    }


def clock_of(args: argparse.Namespace) -> Clock:
    """The system's clock, or one running ``--time-scale`` times as fast."""
    return SystemClock() if args.time_scale == 1.0 else ScaledClock(args.time_scale)


def linkolis_settings(plugin_id: str, settings: Mapping[str, str | bool], host: str, after: Sequence[str] = ()) -> str:
    """Operator settings that point linkolis at a simulator, as shell exports (``LINKOLIS_<ID>_<NAME>``) and as a
    ``[plugins.<id>]`` block of linkolis.toml, then ``after`` (comment lines). Served off loopback, plain HTTP to
    another machine: ``allow_insecure_endpoint`` is added, as linkolis asks to be told."""
    settings = dict(settings)
    if not is_loopback(host):
        settings["allow_insecure_endpoint"] = True
    exports = [
        f"export LINKOLIS_{plugin_id.upper()}_{name.upper()}={shlex.quote('1' if value is True else str(value))}"
        for name, value in settings.items()
    ]
    toml = [f"{name} = {'true' if value is True else json.dumps(value)}" for name, value in settings.items()]
    return "\n".join(
        [
            "# Point linkolis at this simulator: paste into the shell that runs linkolis,",
            *exports,
            "# or put into $LINKOLIS_HOME/linkolis.toml:",
            f"[plugins.{plugin_id}]",
            *toml,
            *after,
        ]
    )


def printout(
    args: argparse.Namespace,
    base_url: str,
    *,
    name: str,
    marketplace: str,
    credentials: Mapping[str, str],
    plugin_id: str,
    settings: Mapping[str, str | bool],
    notes: Sequence[str] = (),
    after: Sequence[str] = (),
) -> list[str]:
    """What a simulator prints once it listens: where (the first line ends with the base URL), its throwaway
    credentials (and whatever else ``credentials`` lists, a label and a value a line), ``notes``, and the operator
    ``settings`` of the plugin ``plugin_id`` that point linkolis at it (``linkolis_settings``), then ``after``."""
    width = max(map(len, credentials), default=0) + 2
    return [
        f"{name} listening on {base_url}",
        f"Simulator's throwaway credentials (not {marketplace} secrets; valid only here):",
        *(f"  {label.ljust(width)}{value}" for label, value in credentials.items()),
        *notes,
        "",
        linkolis_settings(plugin_id, settings, args.host, after),
    ]


def serve_until_interrupted(
    build: Callable[[Clock], S], args: argparse.Namespace, describe: Callable[[S, str], Sequence[str]]
) -> int:
    """Build the simulator on the clock ``--time-scale`` asks for, serve it on ``--host``/``--port``, print
    ``describe(sim, base_url)`` (``printout``) and "Ctrl-C stops it.", and serve until interrupted. What the
    operator got wrong (a bad option, a host off loopback, a port in use) is one line on stderr and exit code 2."""
    try:
        sim = build(clock_of(args))
        server = sim.server(args.host, args.port, args.allow_non_loopback)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print("\n".join([*describe(sim, base_url_of(server)), "", "Ctrl-C stops it."]), flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0

"""``python -m linkolis_amazon.simulator``: serve a local Amazon (LWA, Seller Central consent, SP-API) over HTTP."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
from collections.abc import Sequence

from linkolis_host import ScaledClock, SystemClock

from .app import SimConfig, Simulator
from .lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from .server import base_url_of, make_server

DESCRIPTION = """\
Serve a local Amazon (Login with Amazon, Seller Central consent, SP-API) on this machine, and print the settings
that point linkolis at it, ready to paste.

One base URL serves every Amazon host:
  Login with Amazon     POST /auth/o2/token
  Seller Central        GET  /apps/authorize/consent?application_id=...&state=...[&version=beta][&redirect_uri=...]
  SP-API                /orders/2026-01-01/..., /listings/2021-08-01/..., /feeds/2021-06-30/..., /sellers/v1/...
  Feed documents        /s3/... (presigned upload and download URLs handed out by the Feeds API)
  Admin / ground truth  /_sim/health, /_sim/orders, /_sim/stock, /_sim/counters, /_sim/faults, ...
Requests are checked against Amazon's own models; rate limits, expiries and feed progress follow the clock
(--time-scale speeds it up). The credentials it prints are the simulator's own throwaway values.
"""
EXAMPLES = """\
Examples:
  python -m linkolis_amazon.simulator --port 8320 --allow-loopback-redirects
      then paste the printed `export` lines into the shell that runs linkolis
  python -m linkolis_amazon.simulator --orders 5000 --skus 2000 --time-scale 60
      a bigger shop, an hour of Amazon's clock a minute
  python -m linkolis_amazon.simulator --redirect-uri https://linkolis.example.com/apps/callback
      for `linkolis serve` at that address
"""


def linkolis_settings(base: str, sim: Simulator, args: argparse.Namespace) -> str:
    """The operator settings that point linkolis at this simulator, as shell exports and as linkolis.toml (names
    and meaning: linkolis_amazon/settings.py and docs/operations.md)."""
    settings: dict[str, str | bool] = {
        "endpoint": base,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "application_id": sim.application_id,
    }
    if len(args.redirect_uri) == 1:
        settings["redirect_uri"] = args.redirect_uri[0]
    if args.draft:
        settings["draft"] = True
    if args.login_uri:
        settings["login_uri"] = True
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        settings["allow_insecure_endpoint"] = True  # plain HTTP to another machine: linkolis asks to be told
    exports = [
        f"export LINKOLIS_AMAZON_{name.upper()}={shlex.quote('1' if value is True else str(value))}"
        for name, value in settings.items()
    ]
    toml = [f"{name} = {'true' if value is True else json.dumps(value)}" for name, value in settings.items()]
    return "\n".join(
        [
            "# Point linkolis at this simulator: paste into the shell that runs linkolis,",
            *exports,
            "# or put into $LINKOLIS_HOME/linkolis.toml:",
            "[plugins.amazon]",
            *toml,
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m linkolis_amazon.simulator",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; loopback only unless --allow-non-loopback)",
    )
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument(
        "--allow-non-loopback", action="store_true", help="allow binding a non-loopback address (not recommended)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for generated data, ids and probabilistic faults")
    p.add_argument("--orders", type=int, default=200, help="orders generated over the past window (default 200)")
    p.add_argument("--skus", type=int, default=40, help="listings generated (default 40; per seller)")
    p.add_argument(
        "--sellers",
        type=int,
        default=1,
        help="selling accounts, each with its own seeded orders, listings and rate buckets; with more than one each "
        "sells in one marketplace, taken in turn (default 1); POST /_sim/authorize gives each a refresh token",
    )
    p.add_argument("--days", type=float, default=30.0, help="length of the past window the orders are spread over")
    p.add_argument(
        "--new-orders-per-hour",
        type=float,
        default=None,
        help="new orders per simulated hour (default: the history's rate)",
    )
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="LWA client id the token endpoint accepts")
    p.add_argument(
        "--client-secret", default=DEFAULT_CLIENT_SECRET, help="LWA client secret the token endpoint accepts"
    )
    p.add_argument("--application-id", default=DEFAULT_APPLICATION_ID, help="application id the consent page knows")
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="registered OAuth redirect URI (repeatable; https only, as on Amazon)",
    )
    p.add_argument(
        "--allow-loopback-redirects",
        action="store_true",
        help="NOT AMAZON BEHAVIOUR: also accept any http://127.0.0.1:PORT (or localhost) redirect URI, registered "
        "or not, for development with linkolis' loopback receiver; Amazon accepts only registered https ones",
    )
    p.add_argument("--draft", action="store_true", help="the app is a draft: consent needs version=beta")
    p.add_argument("--login-uri", default=None, help="the app's log-in URI: consent goes there before redirecting")
    p.add_argument(
        "--listing-delay", type=float, default=60.0, help="seconds before accepted listing changes show (default 60)"
    )
    p.add_argument(
        "--feed-seconds",
        type=float,
        nargs=2,
        default=(30.0, 60.0),
        metavar=("QUEUE", "PROCESS"),
        help="seconds a feed stays IN_QUEUE, then IN_PROGRESS (default 30 60)",
    )
    p.add_argument("--no-rate-limits", action="store_true", help="switch the token buckets off")
    p.add_argument("--validate-responses", action="store_true", help="check every response against the models (slower)")
    return p.parse_args(argv)


def build(args: argparse.Namespace) -> Simulator:
    clock = SystemClock() if args.time_scale == 1.0 else ScaledClock(args.time_scale)
    cfg = SimConfig(
        seed=args.seed,
        orders=args.orders,
        skus=args.skus,
        sellers=args.sellers,
        order_window_days=args.days,
        new_orders_per_hour=args.new_orders_per_hour,
        client_id=args.client_id,
        client_secret=args.client_secret,
        application_id=args.application_id,
        redirect_uris=list(args.redirect_uri),
        allow_loopback_redirects=args.allow_loopback_redirects,
        draft=args.draft,
        login_uri=args.login_uri,
        listing_visibility_delay=args.listing_delay,
        feed_queue_seconds=args.feed_seconds[0],
        feed_processing_seconds=args.feed_seconds[1],
        rate_limits=not args.no_rate_limits,
        validate_responses=args.validate_responses,
    )
    return Simulator(clock, config=cfg)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sim = build(args)
        server = make_server(sim, args.host, args.port, args.allow_non_loopback)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = base_url_of(server)
    lines = [
        f"SP-API simulator listening on {base}",
        "Simulator's throwaway credentials (not Amazon secrets; valid only here):",
        f"  client_id       {sim.client_id}",
        f"  client_secret   {sim.client_secret}",
        f"  application_id  {sim.application_id}",
        f"  seller          {sim.default_seller_id}"
        + (f" and {len(sim.seller_ids) - 1} more ({sim.seller_ids[1]} …)" if len(sim.seller_ids) > 1 else ""),
        f"  consent URL     {base}/apps/authorize/consent?application_id={sim.application_id}&state=STATE"
        + ("&version=beta" if args.draft else ""),
        f"  ground truth    {base}/_sim/orders  {base}/_sim/stock  {base}/_sim/counters",
        *(
            ["  loopback redirects accepted (--allow-loopback-redirects: not Amazon behaviour)"]
            if args.allow_loopback_redirects
            else []
        ),
        "",
        linkolis_settings(base, sim, args),
        "",
        "Ctrl-C stops it.",
    ]
    print("\n".join(lines), flush=True)
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


if __name__ == "__main__":
    raise SystemExit(main())

"""`linkolis serve`: the web app sellers use."""

from __future__ import annotations

import contextlib

import click

from .. import config, scheduler, worker
from ..terminal import plural
from .base import CONTEXT, LinkolisCommand, echo, get_host, json_logs, stops_on_sigterm

# On SIGTERM (a service manager stopping it) as on Ctrl-C: the requests in hand get this long to be answered, then the
# background sync's running units end at their next request (`scheduler.background`, 30 s at most), and serve exits 0.
REQUESTS_GRACE = 10.0

SERVE_HELP = """Serve the web app the seller uses: My applications, orders, stock.

Register this OAuth redirect URI with each marketplace (Amazon: the app's "OAuth Redirect URI" in the Solution
Provider Portal): <base-url>/apps/callback, for example https://linkolis.example.com/apps/callback. One callback
serves every plugin; the state says which app. Amazon accepts only https redirect URIs.

`linkolis apps authorize NAME` uses the same callback: set the public address once, as [web] base_url in
linkolis.toml (or LINKOLIS_BASE_URL), and the command sends the seller's browser back here and waits until this
server completes the authorization. Without --base-url, serve uses that address too.

Behind a TLS proxy: listen on 127.0.0.1 and give --base-url; X-Forwarded-* headers are honoured from 127.0.0.1
only, so the proxy must overwrite X-Forwarded-For with the client's address, never pass on what the client sent
(nginx: proxy_set_header X-Forwarded-For $remote_addr). Without a proxy: give --certfile and --keyfile and the
app serves https itself; the base URL is then https too.

Sign-in: at most 5 wrong passwords per account in 15 minutes whatever the client, 20 tries from one client address, 2
at a time. A session ends when its user signs out (every session of that user, on every device), is removed or
gets a new password (`linkolis users password`), after [web] session_idle seconds without a request (8 hours)
and [web] session_lifetime seconds after signing in (7 days).

While it serves, the scheduler of `linkolis sync --watch` syncs every authorized app of every workspace in the
background (My applications shows what each runs and waits for); --no-sync serves the pages only, for when a
`linkolis sync --watch` of its own runs elsewhere on this data directory. With a PostgreSQL database
(LINKOLIS_DATABASE_URL) the sync is the task queue's, served by `linkolis worker` processes, and serve runs none.

For the operator's tools, without a sign-in: GET /healthz (the process answers), GET /readyz (200 when the database
answers, is migrated, the sync runs and no unit is stuck; else 503, with codes only), and GET /metrics
(Prometheus' text, with LINKOLIS_METRICS_TOKEN as a bearer token; none set: no such page).
See docs/deployment.md.
"""


@click.command("serve", cls=LinkolisCommand, context_settings=CONTEXT, help=SERVE_HELP)
@click.option("--host", "bind", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM) to serve https.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="Its private key (PEM).")
@click.option(
    "--base-url",
    metavar="URL",
    help="The public address sellers open [default: [web] base_url, else "
    "http(s)://HOST:PORT]; "
    "the redirect URI to register is <base-url>/apps/callback.",
)
@click.option("--sync/--no-sync", "background_sync", default=True, help="Sync the apps in the background [on].")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=4, show_default=True, help="The background sync's workers."
)
@click.pass_context
@stops_on_sigterm
def serve(
    ctx: click.Context,
    bind: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    base_url: str | None,
    background_sync: bool,
    workers: int,
) -> None:
    import uvicorn

    from ..web import WebSettings, create_app

    if bool(certfile) != bool(keyfile):
        raise click.UsageError("give --certfile and --keyfile together")
    scheme = "https" if certfile else "http"
    host = get_host(ctx)
    base_url = (base_url or config.base_url(host.config, host.env) or f"{scheme}://{bind}:{port}").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with https:// (or http:// for a local try-out)", param_hint="--base-url")
    if certfile and not base_url.startswith("https://"):
        # Served over TLS but announced as http: the session cookie would lose Secure and no HSTS would be sent.
        raise click.BadParameter(
            f"{base_url} is an http:// address, but with --certfile this server speaks https only: give its "
            "https:// address",
            param_hint="--base-url",
        )
    settings = WebSettings(
        base_url=base_url,
        session_idle=host.config.web.session_idle,
        session_lifetime=host.config.web.session_lifetime,
        metrics_token=config.metrics_token(host.env),
    )
    app = create_app(lambda: host, settings)
    echo(f"Serving on {scheme}://{bind}:{port} (public address {base_url}). Ctrl-C stops.", err=True)
    echo(f"OAuth redirect URI to register: {settings.redirect_uri}", err=True)
    if not base_url.startswith("https://"):
        echo("Note: marketplaces such as Amazon accept only https redirect URIs; serve behind TLS for them.", err=True)
    syncing = contextlib.nullcontext()
    if background_sync and isinstance(host.database, str):
        # Many processes share the PostgreSQL database: the sync is the task queue's, served by `linkolis worker`.
        queue = worker.queue_status(host)
        alive = queue["workers"] if queue else 0
        echo(
            f"The sync runs in `linkolis worker` processes sharing this database ({plural(alive, 'worker')} alive "
            "now); this process serves the pages.",
            err=True,
        )
    elif background_sync:
        echo(
            f"Syncing every authorized app in the background with {plural(workers, 'worker')}.",
            err=True,
        )
        syncing = scheduler.background(
            host,
            workers=workers,
            interval=host.config.sync.interval,
            poll=host.config.sync.push_interval,
            report=lambda message: echo(message, err=True),
        )
    with syncing:
        uvicorn.run(
            app,
            host=bind,
            port=port,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            log_level="warning",
            access_log=False,  # its lines carry the query, and the callback's holds an authorization code
            log_config=None if json_logs() else uvicorn.config.LOGGING_CONFIG,  # json: uvicorn's lines are JSON too
            # uvicorn stops on SIGTERM, then raises it again for the handler it replaced: stops_on_sigterm's
            # KeyboardInterrupt, which uvicorn.run swallows as after Ctrl-C, so `with syncing` stops the sync cleanly
            # (Python's default handler would end the process there, with the sync's units in hand).
            timeout_graceful_shutdown=REQUESTS_GRACE,
        )
    echo("Stopped.", err=True)

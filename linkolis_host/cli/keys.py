"""`linkolis keys`: the secret key that encrypts the sellers' credentials."""

from __future__ import annotations

from pathlib import Path

import click

from .. import keys
from ..errors import SecretsError
from ..host import Host
from ..progress import StderrProgress
from ..secrets import ENV_KEY, ENV_NEXT
from .base import CONTEXT, LinkolisGroup, echo, emit, json_option, with_host


@click.group("keys", cls=LinkolisGroup, context_settings=CONTEXT)
def keys_group() -> None:
    """The secret key that encrypts every seller's credentials (secret.key, or LINKOLIS_SECRET_KEY)."""


@keys_group.command("rotate")
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Only write a new key to PATH (a new file, 0600; the key is never printed), for a key kept in "
    "LINKOLIS_SECRET_KEY or shared by several machines; nothing is re-encrypted.",
)
@json_option
@with_host
def keys_rotate(host: Host, new_key_file: Path | None, as_json: bool) -> None:
    """Re-encrypt every stored credential under a new secret key, and make it the key in use.

    With the key in the data directory (secret.key): a new key is written beside it as secret.key.next, every
    credential and cached token is re-encrypted under it, the old key is kept as secret.key.old-<UTC time>
    (mode 0600: a backup of the database made before the rotation needs it; remove it once no such backup is
    kept) and the new key becomes secret.key. Running processes (serve, sync --watch, worker) follow at once:
    they open with either key while the rotation runs. Stopped at any moment (even by kill -9), every credential
    still opens; run the command again and it finishes the rotation.

    With the key in LINKOLIS_SECRET_KEY, linkolis cannot change the environment: write a new key with
    --new-key-file PATH, give every process that key as LINKOLIS_SECRET_KEY_NEXT (beside LINKOLIS_SECRET_KEY) and
    restart them, run `linkolis keys rotate`, then move the new key to LINKOLIS_SECRET_KEY, unset
    LINKOLIS_SECRET_KEY_NEXT and restart them again. Several machines sharing a PostgreSQL database, each with its
    own secret.key: copy the new key into each data directory as secret.key.next (0600; their processes notice it),
    run `linkolis keys rotate` on one machine, then on each of the others rename secret.key.next to secret.key.
    """
    if new_key_file is not None:
        keys.write_new_key(new_key_file)
        step = keys.environment_steps(str(new_key_file))
        emit(
            {"new_key_file": str(new_key_file), "reencrypted": 0, "next_step": step},
            as_json,
            lambda d: echo(f"A new key is in {d['new_key_file']} (0600); nothing is re-encrypted yet. Next: {step}."),
        )
        return
    progress = StderrProgress(quiet=as_json)
    try:
        done = keys.rotate(host, progress)
    except SecretsError as exc:
        if exc.code != "secret_key_in_environment":
            raise
        raise click.ClickException(
            f"the secret key is in the environment ({ENV_KEY}), which linkolis cannot rewrite, so a rotation takes "
            "your hand: `linkolis keys rotate --new-key-file PATH` writes a new key to PATH; give every linkolis "
            f"process (serve, sync --watch, worker) that key as {ENV_NEXT} beside {ENV_KEY} and restart them; run "
            f"`linkolis keys rotate` again; then move the new key to {ENV_KEY}, unset {ENV_NEXT} and restart them "
            "again; keep the old key as long as a backup made before needs it"
        ) from None
    emit(done.as_data(), as_json, _said)
    if done.unopenable and not as_json:
        names = ", ".join(repr(n) for n in done.unopenable)
        echo(
            f"warning: the stored credentials of {names} open with neither key (sealed with a key lost before) and "
            "were left as they were: authorize those apps again (`linkolis apps authorize NAME`)",
            err=True,
        )


def _said(data: dict) -> None:
    count = f"{data['reencrypted']:,} sealed value{'' if data['reencrypted'] == 1 else 's'}"
    already = f" ({data['already']:,} already were)" if data["already"] else ""
    if not data["finished"]:
        echo(f"Re-encrypted {count} under the key in {data['key']}{already}. Next: {data['next_step']}.")
        return
    resumed = "Finished the interrupted rotation: re-encrypted" if data["resumed"] else "Re-encrypted"
    echo(f"{resumed} {count}{already} under a new key, now in {data['key']}.")
    if data["old_key"]:
        echo(
            f"The old key is kept in {data['old_key']} (0600): a backup of the database made before now needs it to "
            "open its credentials; remove it once no such backup is kept."
        )

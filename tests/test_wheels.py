"""Install as an operator would: the three distributions built as wheels, installed into a fresh venv that cannot
see this source tree, and run from there (`linkolis --version`, `linkolis demo`, `linkolis serve`).

The wheels are built from a clean copy of each distribution's folder, so that a stray ``build/`` or file in the
working tree cannot stand in for something the package data forgot. Building and installing use the package
registry as an operator does: the build's own setuptools (``[build-system] requires``, in isolation) and the
dependencies, from pip's cache when it has them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from linkolis_host.version import __version__

pytestmark = [
    pytest.mark.no_store,
    pytest.mark.skipif(os.name == "nt", reason="the operator's install is written for POSIX (bin/, SIGTERM)"),
]

ROOT = Path(__file__).resolve().parents[1]
# Each distribution's folder and the package it ships.
DISTRIBUTIONS = {
    "linkolis-host": (ROOT, "linkolis_host"),
    "linkolis-amazon": (ROOT / "plugins" / "amazon", "linkolis_amazon"),
    "linkolis-bol": (ROOT / "plugins" / "contrib" / "bol", "linkolis_bol"),
}
# What a developer needs and an operator does not: pybabel's extraction settings.
DEVELOPMENT_ONLY = {"linkolis_host/web/babel.cfg"}
# Not the distribution: the copy leaves out what is no part of a wheel (and the host's folder holds the plugins').
NOT_SHIPPED = shutil.ignore_patterns(
    ".*", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", "tests", "plugins", "docs", "bench", "tools"
)


def run(args: list[str | Path], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (
        f"{args} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def build_wheel(folder: Path, outdir: Path, env: dict[str, str]) -> None:
    run([sys.executable, "-m", "build", "--wheel", "--outdir", outdir, folder], timeout=600, env=env)


def shipped_files(folder: Path, package: str) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in (folder / package).rglob("*") if p.is_file()} - DEVELOPMENT_ONLY


def start(where: Path, name: str, args: list[str | Path], env: dict[str, str]) -> subprocess.Popen:
    """``args`` running in ``where`` with ``env``, its output (stdout and stderr) in the file ``<name>.log``."""
    with (where / f"{name}.log").open("w", encoding="utf-8") as log:
        return subprocess.Popen(
            [str(a) for a in args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=where
        )


def output(where: Path, name: str) -> str:
    return (where / f"{name}.log").read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_wheels_install_into_a_fresh_venv_and_linkolis_runs_from_there(tmp_path):
    times: dict[str, float] = {}
    started = time.monotonic()
    # What pip needs to reach the registry (its settings, proxies, cache), but never this tree on the path.
    operator_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}

    # 1. Build the three wheels from clean copies, side by side.
    sources, wheels = tmp_path / "src", tmp_path / "wheels"
    for name, (folder, _) in DISTRIBUTIONS.items():
        shutil.copytree(folder, sources / name, ignore=NOT_SHIPPED)
    with ThreadPoolExecutor(len(DISTRIBUTIONS)) as pool:
        list(pool.map(lambda name: build_wheel(sources / name, wheels, operator_env), DISTRIBUTIONS))
    times["build"] = time.monotonic() - started
    # Each version's one place: the host's linkolis_host/version.py, a plugin's own pyproject.toml.
    versions = {"linkolis-host": __version__}
    for name in ("linkolis-amazon", "linkolis-bol"):
        pyproject = tomllib.loads((DISTRIBUTIONS[name][0] / "pyproject.toml").read_text(encoding="utf-8"))
        versions[name] = pyproject["project"]["version"]
    for name, (_, package) in DISTRIBUTIONS.items():
        [wheel] = wheels.glob(f"{package}-*.whl")
        assert wheel.name == f"{package}-{versions[name]}-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as zf:
            missing = shipped_files(sources / name, package) - set(zf.namelist())
        assert not missing, f"{wheel.name} lacks {sorted(missing)}"

    # 2. A fresh venv, and the wheels in it with their dependencies: what docs/deployment.md tells an operator.
    mark = time.monotonic()
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], timeout=120, env=operator_env, cwd=tmp_path)
    run([venv / "bin" / "python", "-m", "pip", "install", *sorted(wheels.glob("*.whl"))], timeout=900, env=operator_env)
    times["install"] = time.monotonic() - mark

    # 3. From a folder outside the tree, with an environment that names nothing of it.
    where = tmp_path / "operator"
    (where / "tmp").mkdir(parents=True)
    env = {
        "PATH": os.pathsep.join([str(venv / "bin"), os.defpath]),
        "HOME": str(where),
        "TMPDIR": str(where / "tmp"),
        "LANG": "C.UTF-8",
        "LINKOLIS_HOME": str(where / "home"),
    }
    linkolis = venv / "bin" / "linkolis"

    mark = time.monotonic()
    assert run([linkolis, "--version"], timeout=60, env=env, cwd=where).stdout == f"linkolis, version {__version__}\n"
    probe = "import importlib.metadata as m, json, linkolis_host, linkolis_amazon, linkolis_bol, sys, sysconfig\n"
    probe += (
        "print(json.dumps({'site': sysconfig.get_path('purelib'), 'path': sys.path, "
        "'files': [p.__file__ for p in (linkolis_host, linkolis_amazon, linkolis_bol)], "
        f"'versions': {{d: m.version(d) for d in {list(DISTRIBUTIONS)!r}}}}}))"
    )
    seen = json.loads(run([venv / "bin" / "python", "-c", probe], timeout=60, env=env, cwd=where).stdout)
    site = Path(seen["site"])
    assert site.is_relative_to(venv)
    for file in seen["files"]:
        assert Path(file).is_relative_to(site), f"{file} is not the venv's copy"
    assert not [p for p in seen["path"] if p and Path(p).is_relative_to(ROOT)], seen["path"]
    assert seen["versions"] == versions
    times["version"] = time.monotonic() - mark

    # The demo (its stand-ins check every exchange against the vendored models) and the web app, side by side.
    mark = time.monotonic()
    demo = start(where, "demo", [linkolis, "demo", "--home", where / "demo"], env)
    try:
        port = free_port()
        serve = start(where, "serve", [linkolis, "serve", "--port", str(port), "--no-sync"], env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert serve.poll() is None, f"linkolis serve exited {serve.returncode}: {output(where, 'serve')}"
                try:
                    page = httpx.get(f"{base}/signin", headers={"Accept-Language": "nl"}, timeout=5)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "linkolis serve did not answer within 60 s"
                    time.sleep(0.1)
            # A template (the sign-in form), worded by the Dutch catalog, and the static file it links.
            assert page.status_code == 200, page.text[-2000:]
            assert '<html lang="nl">' in page.text and 'name="password"' in page.text
            assert "<h1>Inloggen</h1>" in page.text and "Wachtwoord" in page.text
            assert 'href="/static/linkolis.css"' in page.text
            css = httpx.get(f"{base}/static/linkolis.css", timeout=5)
            assert css.status_code == 200
            assert css.content == (ROOT / "linkolis_host" / "web" / "static" / "linkolis.css").read_bytes()
        finally:
            stopping = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            try:
                code = serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
                raise AssertionError("linkolis serve did not stop within 20 s of SIGTERM") from None
        assert code == 0, output(where, "serve")
        times["serve"] = time.monotonic() - mark
        times["serve stop"] = time.monotonic() - stopping

        try:
            demo.wait(timeout=300)
        except subprocess.TimeoutExpired:
            raise AssertionError("linkolis demo did not finish within 300 s") from None
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    times["demo"] = time.monotonic() - mark
    out = output(where, "demo")
    assert demo.returncode == 0, out[-4000:]
    assert "A local Amazon is running" in out and "A local bol is running" in out, out[-4000:]
    assert out.count("Module correctly installed") == 2, out[-4000:]
    assert out.count("confirmed by the marketplace; the order is now shipped") == 2, out[-4000:]
    assert "Traceback" not in out

    times["whole test"] = time.monotonic() - started
    print(", ".join(f"{step} {seconds:.1f} s" for step, seconds in times.items()))

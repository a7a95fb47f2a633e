"""The plan in docs/architecture.md is kept: the tables there are read, and every import in the code is checked
against them, as a reader of the page would check it by hand."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import linkolis_host
import linkolis_host.testing
import linkolis_host.testing.simulator

pytestmark = pytest.mark.no_store

ROOT = Path(__file__).resolve().parents[1]
HOST = ROOT / "linkolis_host"
PLUGINS = [p.parent for p in ROOT.glob("plugins/**/pyproject.toml")]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def layers_in_the_doc() -> dict[str, int]:
    layers = {}
    for number, modules in re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", DOC, flags=re.M):
        for module in re.findall(r"`([a-z_]+)`", modules):
            assert module not in layers, f"{module} is in two layers of docs/architecture.md"
            layers[module] = int(number)
    return layers


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, package: str) -> list[tuple[str, list[str], bool]]:
    """(absolute module, names imported, at module level) for every import that runs (TYPE_CHECKING blocks skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = package if path.name == "__init__.py" else f"{package}.{path.stem}"
    parts = here.split(".") if path.name == "__init__.py" else here.split(".")[:-1]
    found: list[tuple[str, list[str], bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    visit(sub, top)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, [], top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = ".".join(parts[: len(parts) - child.level + 1])
                    module = f"{base}.{child.module}" if child.module else base
                else:
                    module = child.module or ""
                found.append((module, [alias.name for alias in child.names], top))
            inner_top = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner_top)

    visit(tree, True)
    return found


def host_modules() -> dict[str, list[tuple[Path, str]]]:
    """Each module of the host, and each subpackage (``web``) as one unit: its files and their package."""
    units: dict[str, list[tuple[Path, str]]] = {path.stem: [(path, "linkolis_host")] for path in HOST.glob("*.py")}
    for package in HOST.iterdir():
        if (package / "__init__.py").exists():
            units[package.name] = [(path, f"linkolis_host.{package.name}") for path in package.rglob("*.py")]
    return units


def host_edges() -> dict[str, set[str]]:
    """Which host module imports which, resolving `from . import x` to the module x."""
    modules = host_modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, files in modules.items():
        for path, package in files:
            for module, names, _ in imports_of(path, package):
                if module == "linkolis_host":
                    targets = [n for n in names if n in modules] or ["__init__"]
                elif module.startswith("linkolis_host."):
                    targets = [module.split(".")[1]]
                else:
                    continue
                edges[name].update(t for t in targets if t != name)
    return edges


def test_every_host_module_has_its_place_in_the_plan():
    layers = layers_in_the_doc()
    modules = set(host_modules())
    assert sorted(modules - set(layers)) == [], "add these modules to a layer of docs/architecture.md"
    assert sorted(set(layers) - modules) == [], "docs/architecture.md names modules that do not exist"


def test_no_host_module_imports_a_layer_below_it():
    layers = layers_in_the_doc()
    against = [
        f"{src} (layer {layers[src]}) imports {dst} (layer {layers[dst]})"
        for src, targets in host_edges().items()
        for dst in sorted(targets)
        if dst in layers and layers[dst] > layers[src]
    ]
    assert against == []


def test_no_two_host_modules_import_each_other_round_a_loop():
    edges = host_edges()
    cycles = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt == path[0]:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest module
                walk(nxt, [*path, nxt])

    for start in sorted(edges):
        walk(start, [start])
    assert cycles == []


def test_the_host_never_imports_a_plugin():
    plugin_packages = {p.name for plugin in PLUGINS for p in plugin.iterdir() if (p / "__init__.py").exists()}
    assert plugin_packages, "no plugin package found under plugins/"
    found = [
        f"{path.name} imports {module}"
        for files in host_modules().values()
        for path, package in files
        for module, _, _ in imports_of(path, package)
        if module.split(".")[0] in plugin_packages
    ]
    assert found == []


def _plugin_files() -> list[tuple[Path, str]]:
    files = []
    for plugin in PLUGINS:
        for package in plugin.iterdir():
            if (package / "__init__.py").exists():
                for path in package.rglob("*.py"):
                    dotted = ".".join(path.relative_to(plugin).with_suffix("").parts)
                    files.append((path, dotted.removesuffix(".__init__")))
    return files


# What a plugin may import of the host: its public names, and (off the runtime path) the kits for plugin authors.
PUBLIC = {
    "linkolis_host": set(linkolis_host.__all__),
    "linkolis_host.testing": set(linkolis_host.testing.__all__),
    "linkolis_host.testing.simulator": set(linkolis_host.testing.simulator.__all__),
}


def test_a_plugin_imports_only_the_public_names_of_linkolis_host():
    found = []
    for path, dotted in _plugin_files():
        package = dotted if path.name == "__init__.py" else dotted.rsplit(".", 1)[0]
        for module, names, _ in imports_of(path, package):
            if module in PUBLIC:
                found.extend(
                    f"{dotted} imports {n}, which {module} does not export" for n in names if n not in PUBLIC[module]
                )
            elif module.startswith("linkolis_host."):
                found.append(f"{dotted} imports the host module {module}")
    assert found == []


def test_no_host_module_but_the_kits_imports_the_kits():
    users = sorted(name for name, targets in host_edges().items() if "testing" in targets and name != "testing")
    assert users == [], "linkolis_host.testing is for plugin authors' tests and simulators, off every runtime path"


def test_nothing_in_a_plugins_runtime_path_imports_its_simulator_or_the_kits():
    files = {dotted: path for path, dotted in _plugin_files()}
    for plugin in PLUGINS:
        entry = re.search(
            r'^\s*\w+\s*=\s*"([\w.]+)"',
            (plugin / "pyproject.toml").read_text().split("[project.entry-points.linkolis]")[1],
            flags=re.M,
        )
        assert entry, f"{plugin.name}: no entry point in group linkolis"
        seen, reached, todo = set(), set(), [entry.group(1)]
        while todo:
            current = todo.pop()
            reached.add(current)
            if current in seen or current not in files:
                continue
            seen.add(current)
            path = files[current]
            package = current if path.name == "__init__.py" else current.rsplit(".", 1)[0]
            for module, names, top in imports_of(path, package):
                if not top:
                    assert current.endswith(".plugin") and module.endswith(".demo"), (
                        f"{current} imports {module} inside a function; only the demo hook may"
                    )
                    continue
                todo.append(module)
                todo.extend(f"{module}.{n}" for n in names)
        simulators = sorted(m for m in seen if ".simulator" in m)
        assert simulators == [], f"{plugin.name}'s runtime path imports {simulators}"
        kits = sorted(m for m in reached if m == "linkolis_host.testing" or m.startswith("linkolis_host.testing."))
        assert kits == [], f"{plugin.name}'s runtime path imports the kits for tests: {kits}"

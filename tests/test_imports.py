"""The project's modules import one way: no import cycles (counting imports inside functions and under
``TYPE_CHECKING``), the shared core imports no stage, and no stage imports a stage it feeds."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "ingestion", "expectations", "serving", "orchestration", "tools", "bench")
#: What each package may import from the project: the core, and the stages upstream of it.
ALLOWED = {
    "core": {"core"},
    "ingestion": {"core", "ingestion"},
    "expectations": {"core", "ingestion", "expectations"},
    "serving": {"core", "serving"},
    "orchestration": {"core", "ingestion", "expectations", "serving", "orchestration"},
    "tools": {"core", "ingestion", "tools"},
    "bench": {"core", "ingestion", "expectations", "serving", "orchestration", "tools", "bench"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
}


def _imports(name: str) -> set[str]:
    """The project modules ``name`` imports, anywhere in it, with the packages that importing them runs."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    resolved = set()
    for module in found:
        parts = module.split(".")
        resolved.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in resolved if m in MODULES and m != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles():
    # A package importing its own submodules (``__init__`` re-exporting them) is not a cycle of design.
    graph = {
        name: {m for m in targets if not (MODULES[name].name == "__init__.py" and m.startswith(name + "."))}
        for name, targets in GRAPH.items()
    }
    assert _cycles(graph) == []


def test_the_core_imports_no_stage_and_no_stage_imports_a_stage_it_feeds():
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    )
    assert wrong == []


@pytest.mark.parametrize("package", ["core", "ingestion", "expectations", "serving", "orchestration"])
def test_every_module_imports(package: str):
    for name in sorted(m for m in MODULES if m.split(".")[0] == package):
        importlib.import_module(name)


def test_release_parsers_parse_and_leave_the_mapping_to_its_step():
    """A parser that looked names up in the seeds would keep what it found when an alias is fixed."""
    from ingestion.releases.formats import PARSER_MODULES

    mapping = {"ingestion.releases.harmonize", "ingestion.releases.mapping", "ingestion.mapping", "core.settings"}
    assert {module: sorted(GRAPH[module] & mapping) for module in PARSER_MODULES} == {module: [] for module in PARSER_MODULES}


def test_the_code_location_and_the_freshness_check_do_not_import_great_expectations():
    """Importing GX takes about 3 s: loading the definitions and the data freshness check (which runs before
    dbt) must not pay it; the suites' check steps import it, warmed up while dbt builds."""
    import subprocess
    import sys

    code = (
        "import sys, orchestration.definitions, orchestration.freshness, expectations.overview; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'great_expectations')[:3])"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_great_expectations_imports_without_scipy_stats_which_loads_when_first_used():
    """GX imports scipy.stats (about 1 s) for expectations no suite uses: importing GX leaves it unloaded, and
    GX's code that uses it gets the module all the same."""
    import subprocess
    import sys

    code = (
        "import sys, expectations.runner; "
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('scipy.stats.'))[:3]; "
        "print(loaded()); "
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl; "
        "print(round(kl.stats.entropy([0.5, 0.5], [0.9, 0.1]), 4), bool(loaded()), "
        "type(sys.modules['scipy.stats']).__name__, sys.modules['scipy'].stats is sys.modules['scipy.stats'])"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "0.5108 True module True"]


def test_a_module_imported_when_used_is_imported_once_by_concurrent_first_uses():
    import subprocess
    import sys

    code = (
        "import sys, threading, expectations; "
        "expectations.ImportedWhenUsed.install('json.tool'); "
        "stand_in = sys.modules['json.tool']; found = []; "
        "threads = [threading.Thread(target=lambda: found.append(stand_in.main)) for _ in range(8)]; "
        "[t.start() for t in threads]; [t.join() for t in threads]; "
        "print(len(found), len({id(f) for f in found}), sys.modules['json.tool'] is not stand_in, "
        "sys.modules['json.tool'].main is found[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "8 1 True True"

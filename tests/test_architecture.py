"""The package's shape: layers that import only the layers before them, one engine, no name that
means two things.

Layers, in the order data flows: ``errors`` (base) → ``data`` → ``scheme`` → ``engine`` →
``analysis`` → ``report`` → ``cli``. A module may import its own layer and the layers before it.
The one exception is a result object's ``plot()`` method, which imports the report layer's chart
when it is called (as pandas' ``DataFrame.plot`` does); it is listed here by name.

The scanners are tested on hand-written sources that break each rule, so that they can fail.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import types
from pathlib import Path

import pytest

import assesskit as ak

PACKAGE = Path(ak.__file__).parent
LAYERS = {"errors": 0, "escape": 0, "data": 1, "scheme": 2, "engine": 3, "analysis": 4, "report": 5, "cli": 6,
          "__main__": 6, "__init__": 6}
# Sorting primitives that rank units: an analysis calling them ranks units by a rule of its own
# (statistics of ranks, such as Spearman's correlation, go through scipy.stats).
RULE_CALLS = ("argsort", "lexsort", "rankdata", "rank")


# the engine's modules of ranking, quota, grade, consequence and aggregation rules
RULE_MODULES = ("ranking", "consequences", "tree", "design", "batch")


def engine_kernel_names() -> set[str]:
    """Public functions and classes of the engine's rule modules: the rules themselves."""
    names = set()
    for stem in RULE_MODULES:
        info_name = f"assesskit.engine.{stem}"
        module = importlib.import_module(info_name)
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not name.startswith("_") \
                    and getattr(obj, "__module__", "") == info_name:
                names.add(name)
    return names


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def layer_of(module: str) -> int:
    """Layer of a dotted module name inside assesskit (``assesskit.engine.level`` -> 3)."""
    parts = module.split(".")
    if parts[0] != "assesskit":
        return -1
    return LAYERS.get(parts[1] if len(parts) > 1 else "__init__", 6)


def absolute(path: Path, node: ast.ImportFrom) -> str:
    """The dotted module an ``ImportFrom`` names, resolved against the file's package."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    if node.level:
        base = package[: len(package) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module or ""


def imports(path: Path, tree: ast.AST | None = None):
    """(module imported, lineno, name of the enclosing function or None) of every import."""
    tree = tree or ast.parse(path.read_text(encoding="utf-8"))
    out = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            fn = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.ImportFrom):
                target = absolute(path, child)
                out.append((target, child.lineno, function))
                for alias in child.names:  # from ..engine import scoring: a module too
                    out.append((f"{target}.{alias.name}", child.lineno, function))
            elif isinstance(child, ast.Import):
                out.extend((alias.name, child.lineno, function) for alias in child.names)
            visit(child, fn)

    visit(tree, None)
    return out


def layer_violations(path: Path, tree: ast.AST | None = None) -> list[str]:
    own = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    bad = []
    for target, line, function in imports(path, tree):
        if not target.startswith("assesskit"):
            continue
        if layer_of(target) > own and not (function == "plot"
                                           and target.startswith("assesskit.report.")):
            bad.append(f"{path.name}:{line} imports {target} (a later layer)")
    return bad


def private_reaches(path: Path, tree: ast.AST | None = None) -> list[str]:
    """Imports of a private name (``_x``) from another subpackage of assesskit."""
    tree = tree or ast.parse(path.read_text(encoding="utf-8"))
    own = path.relative_to(PACKAGE).parts[0]
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = absolute(path, node)
            parts = target.split(".")
            other = parts[1] if len(parts) > 1 else ""
            for alias in node.names:
                if alias.name.startswith("_") and other and other != own.removesuffix(".py"):
                    bad.append(f"{path.name}:{node.lineno} imports private {target}.{alias.name}")
    return bad


def rule_definitions(tree: ast.AST, kernels: set[str]) -> list[str]:
    """Functions or classes that redefine an engine kernel, and calls that rank units."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.lstrip("_") in kernels:
                bad.append(f"line {node.lineno}: defines {node.name}, an engine kernel's name")
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            if name in RULE_CALLS:
                bad.append(f"line {node.lineno}: calls {name}()")
    return bad


# ---------------------------------------------------------------------- the scanners can fail
def test_the_scanners_catch_what_they_look_for(tmp_path):
    engine_file = PACKAGE / "engine" / "level.py"
    upward = ast.parse("from ..analysis.uncertainty import uncertainty\n")
    assert layer_violations(engine_file, upward)
    allowed = ast.parse("def plot(self):\n    from ..report.plotting import plot_scores\n")
    assert not layer_violations(engine_file, allowed)
    analysis_file = PACKAGE / "analysis" / "uncertainty.py"
    reach = ast.parse("from ..engine.tree import _f\n")
    assert private_reaches(analysis_file, reach)
    kernels = engine_kernel_names()
    assert {"ranks_within", "quota_places", "aggregate", "GradeRule", "apportion"} <= kernels
    own_rule = ast.parse("def quota_places(x):\n    return x.argsort()\n")
    assert len(rule_definitions(own_rule, kernels)) == 2
    assert not rule_definitions(ast.parse("def share_of_runs(x):\n    return x.mean()\n"),
                                kernels)


# ---------------------------------------------------------------------- the rules hold
def test_no_layer_imports_a_later_layer():
    bad = [v for path in modules() for v in layer_violations(path)]
    assert not bad, "\n".join(bad)


def test_no_module_reaches_into_another_packages_private_names():
    bad = [v for path in modules() for v in private_reaches(path)]
    assert not bad, "\n".join(bad)


def test_analyses_define_no_ranking_quota_grade_or_aggregation_rule():
    kernels = engine_kernel_names()
    bad = []
    for path in sorted((PACKAGE / "analysis").rglob("*.py")):
        bad.extend(f"{path.name} {v}" for v in rule_definitions(ast.parse(path.read_text()),
                                                                kernels))
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    """Module-level imports between assesskit modules form no cycle."""
    graph: dict[str, set] = {}
    for path in modules():
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        mod = ast.Module(body=top, type_ignores=[])
        graph[name] = {t.removesuffix(".__init__") for t, _, _ in imports(path, mod)
                       if t.startswith("assesskit.")}
    names = set(graph)
    graph = {k: {t for t in v if t in names and t != k} for k, v in graph.items()}
    # a package importing its own submodules is not a cycle of the pipeline
    graph = {k: {t for t in v if not t.startswith(k + ".")} for k, v in graph.items()}
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in seen:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()
        seen.add(node)

    for node in sorted(graph):
        visit(node)


def test_no_name_means_two_things():
    """``import assesskit.X`` gives a module or nothing, never a function; a package's attribute
    named like one of its submodules is that submodule."""
    for name in ak.__all__:
        value = getattr(ak, name)
        spec = importlib.util.find_spec(f"assesskit.{name}")
        if isinstance(value, types.ModuleType):
            continue
        assert spec is None, f"ak.{name} is a {type(value).__name__} but assesskit.{name} is a module"
    for info in pkgutil.walk_packages(ak.__path__, "assesskit."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        parent, _, child = info.name.rpartition(".")
        attr = getattr(importlib.import_module(parent), child, module)
        assert attr is module, f"{parent}.{child} is {attr!r}, not the module {info.name}"
        assert inspect.ismodule(module)


def test_the_top_level_api_still_works():
    for name in ("load_scheme", "evaluate", "evaluate_periods", "datasets", "weights", "compare",
                 "uncertainty", "Dataset", "Scheme", "Evaluation", "builtin_schemes"):
        assert hasattr(ak, name)
    assert inspect.ismodule(ak.weights) and inspect.ismodule(ak.datasets)
    assert callable(ak.uncertainty) and callable(ak.compare)


@pytest.mark.parametrize("module", ["assesskit"])
def test_import_is_quick(module):
    """``import assesskit`` loads no numerical library: everything is imported on first use."""
    import subprocess
    import sys

    code = (f"import sys; import {module}; "
            "print(','.join(m for m in ('numpy', 'pandas', 'scipy', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

"""Dependencies are declared once: pyproject.toml and environment.yml must list the same packages.

pyproject.toml is the source of truth (runtime dependencies plus the ``test`` and ``dev``
extras); environment.yml is the conda-forge mirror of it for people who use conda, with a
``pip:`` section for packages not on conda-forge. The two must agree on the package names and on
every minimum version, and on the Python version.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "assesskit"

# conda-forge names that differ from the PyPI name after normalisation (PyPI -> conda).
# conda's ``dask`` is the full distribution, i.e. pip's ``dask[distributed]`` (extras are dropped
# when comparing anyway). Add entries here when a package is named differently on conda-forge.
CONDA_NAMES: dict[str, str] = {}

_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*(.*?)\s*$")


def normalise_name(name: str) -> str:
    """PEP 503 normalised name: ``SALib`` -> ``salib``, ``scikit_learn`` -> ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def minimum_version(spec: str, where: str) -> Version | None:
    """The lower bound of a version specifier (``>=2.0``, conda ``=2.0`` or ``==2.0``), or None.

    Raises ValueError, naming ``where``, for any other operator: an upper bound or an exclusion
    would have to be mirrored by hand and is better avoided in both files.
    """
    spec = spec.replace(" ", "")
    if not spec:
        return None
    bounds = []
    for part in spec.split(","):
        m = re.fullmatch(r"(>=|==|=)([0-9][0-9A-Za-z.*]*)", part)
        if not m:
            raise ValueError(f"{where}: unsupported version specifier {part!r}; use '>=X.Y'")
        bounds.append(Version(m.group(2).rstrip(".*")))
    return max(bounds)


def pyproject_requirements(text: str) -> dict[str, Version | None]:
    """Package -> minimum version from a pyproject.toml: dependencies plus every extra.

    Self-references such as ``assesskit[test]`` in the ``dev`` extra are skipped; ``python``
    comes from ``requires-python``.
    """
    project = tomllib.loads(text)["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    out: dict[str, Version | None] = {}
    if "requires-python" in project:
        out["python"] = minimum_version(project["requires-python"], "requires-python")
    for line in lines:
        req = Requirement(line)
        name = normalise_name(req.name)
        if name == PROJECT:
            continue
        name = CONDA_NAMES.get(name, name)
        out[name] = minimum_version(str(req.specifier), f"pyproject.toml {line!r}")
    return out


def conda_requirements(text: str) -> dict[str, Version | None]:
    """Package -> minimum version from an environment.yml, including its ``pip:`` section.

    ``pip`` itself and editable installs of the project (``-e .``) are skipped.
    """
    env = yaml.safe_load(text)
    entries: list[str] = []
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            entries.extend(dep.get("pip", []))
        else:
            entries.append(str(dep))
    out: dict[str, Version | None] = {}
    for entry in entries:
        if entry.startswith("-") or entry.strip() in {"pip", "."}:
            continue
        m = _CONDA_SPEC.match(entry)
        if not m:
            raise ValueError(f"environment.yml: cannot read the dependency {entry!r}")
        name = normalise_name(m.group(1))
        out[name] = minimum_version(m.group(3), f"environment.yml {entry!r}")
    return out


def disagreements(pyproject: dict[str, Version | None],
                  conda: dict[str, Version | None]) -> list[str]:
    """Every difference between the two declarations, as sentences saying what to fix."""
    out = []
    for name in sorted(pyproject.keys() - conda.keys()):
        out.append(f"{name} is in pyproject.toml but not in environment.yml; add it there")
    for name in sorted(conda.keys() - pyproject.keys()):
        out.append(f"{name} is in environment.yml but not in pyproject.toml; add it to "
                   "pyproject.toml (dependencies or an extra) or remove it from environment.yml")
    for name in sorted(pyproject.keys() & conda.keys()):
        a, b = pyproject[name], conda[name]
        if a != b:
            out.append(f"{name}: minimum version {a or '(none)'} in pyproject.toml but "
                       f"{b or '(none)'} in environment.yml; make them equal")
    return out


def test_pyproject_and_environment_yml_agree():
    pyproject = pyproject_requirements((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    conda = conda_requirements((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert {"numpy", "pandas", "matplotlib", "mplfonts", "salib", "dask", "pytest",
            "python"} <= pyproject.keys()  # the parser really read both sections and extras
    problems = disagreements(pyproject, conda)
    assert not problems, "pyproject.toml and environment.yml disagree:\n" + "\n".join(problems)


PYPROJECT_SAMPLE = """
[project]
name = "assesskit"
requires-python = ">=3.11"
dependencies = ["numpy>=2.0", "Scikit_Learn>=1.4", "pandas>=2.2", "mplfonts>=0.0.8"]
[project.optional-dependencies]
test = ["SALib>=1.5", "dask[distributed]>=2024.1", "pytest"]
dev = ["assesskit[test]"]
"""


def test_names_are_normalised_and_extras_read():
    assert pyproject_requirements(PYPROJECT_SAMPLE) == {
        "python": Version("3.11"), "numpy": Version("2.0"), "scikit-learn": Version("1.4"),
        "pandas": Version("2.2"), "mplfonts": Version("0.0.8"), "salib": Version("1.5"),
        "dask": Version("2024.1"), "pytest": None,
    }
    conda = """
    channels: [conda-forge]
    dependencies:
      - python >=3.11
      - numpy>=2.0
      - scikit-learn >=1.4
      - pandas=2.2
      - salib>=1.5
      - dask>=2024.1
      - pytest
      - pip
      - pip:
          - mplfonts>=0.0.8
          - -e .
    """
    assert disagreements(pyproject_requirements(PYPROJECT_SAMPLE), conda_requirements(conda)) == []


def test_mismatched_declarations_are_reported():
    conda = """
    dependencies:
      - python>=3.10
      - numpy>=1.26
      - scikit-learn>=1.4
      - pandas>=2.2
      - salib>=1.5
      - dask>=2024.1
      - pytest
      - statsmodels>=0.14
    """
    assert disagreements(pyproject_requirements(PYPROJECT_SAMPLE), conda_requirements(conda)) == [
        "mplfonts is in pyproject.toml but not in environment.yml; add it there",
        "statsmodels is in environment.yml but not in pyproject.toml; add it to pyproject.toml "
        "(dependencies or an extra) or remove it from environment.yml",
        "numpy: minimum version 2.0 in pyproject.toml but 1.26 in environment.yml; make them equal",
        "python: minimum version 3.11 in pyproject.toml but 3.10 in environment.yml; make them "
        "equal",
    ]


def test_upper_bounds_are_refused_with_the_place_named():
    with pytest.raises(ValueError, match=r"environment.yml 'numpy<3'.*unsupported"):
        conda_requirements("dependencies: ['numpy<3']")

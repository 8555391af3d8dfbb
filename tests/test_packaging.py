"""What `pip install .` (the README's quick start) installs: every package of responder/. The
tests run an editable install, which finds a package missing from pyproject.toml's list anyway;
a plain install then fails at start (responder.integrations.oauth2 was missing once)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_for_installation() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "responder").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"responder.templates"}, "mapped from templates/ by package-dir"

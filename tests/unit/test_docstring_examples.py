"""Every Examples section in the package runs, as River's docstrings do."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ["topologies", "operators", "models", "schemas", "compose"]


def modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(f"cartstream.{package}")
        names.append(root.__name__)
        names += [m.name for m in pkgutil.walk_packages(root.__path__, prefix=f"{root.__name__}.")]
    return sorted(names)


@pytest.mark.parametrize("module_name", modules())
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {module_name}"

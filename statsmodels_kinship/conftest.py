"""pytest set-up for the doctests of the package (``--doctest-modules``).

A doctest that imports an optional dependency (bed-reader, dask, matplotlib, tqdm: the extras of
``setup.cfg``) is skipped, with the reason, when that dependency is not installed, instead of
failing with an ImportError; with the dependency it runs as any other.
"""
import importlib
import re

import pytest

#: import names of the optional dependencies (the ``extras_require`` of setup.cfg)
OPTIONAL = ("bed_reader", "dask", "distributed", "matplotlib", "tqdm")

_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", re.MULTILINE)


def _missing(name):
    try:
        importlib.import_module(name)
    except ImportError:
        return True
    return False


def optional_imports(dtest):
    """The optional dependencies that the examples of the doctest ``dtest`` import."""
    names = {m.group(1).split(".")[0] for ex in dtest.examples
             for m in _IMPORT.finditer(ex.source)}
    return sorted(names.intersection(OPTIONAL))


def pytest_runtest_setup(item):
    dtest = getattr(item, "dtest", None)  # a DoctestItem
    if dtest is None:
        return
    missing = [name for name in optional_imports(dtest) if _missing(name)]
    if missing:
        pytest.skip(f"the example needs the optional dependency {', '.join(missing)}, "
                    "which is not installed")

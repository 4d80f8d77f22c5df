"""The documentation site (docs/, built by ``make docs``): its Python code runs as written.

Each page's ``.. code-block:: python`` blocks are executed in order in one namespace, from the
repository root (as tests/test_readme.py does for the README). A block whose first line is
``# requires: <module>`` is skipped when that optional extra is not installed. The Sphinx
build itself (``make docs``, warnings are errors) needs the ``docs`` extra and is not run here.
"""
import importlib.util
import pathlib
import re
import textwrap
import warnings

import pytest

import statsmodels_kinship

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.rst"))
GUIDE = ["model", "fitting", "inference", "genetics", "scans", "variance_components",
         "prediction"]


def code_blocks(text):
    """The dedented bodies of the ``.. code-block:: python`` directives of an rst text."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = re.match(r"(\s*)\.\. code-block::\s*python\s*$", lines[i])
        i += 1
        if not match:
            continue
        indent, body = len(match.group(1)), []
        while i < len(lines) and lines[i].lstrip().startswith(":"):  # directive options
            i += 1
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return blocks


def test_code_blocks_are_extracted_whole():
    text = ("Intro\n\n.. code-block:: python\n\n   a = 1\n\n   b = a + 1\n"
            "\nText after.\n\n  .. code-block:: python\n     :caption: x\n\n     c = 3\n")
    assert code_blocks(text) == ["a = 1\n\nb = a + 1\n", "c = 3\n"]


def test_guide_pages_exist_and_are_in_the_toctree():
    index = (DOCS / "index.rst").read_text()
    for page in GUIDE + ["api"]:
        assert (DOCS / f"{page}.rst").is_file(), page
        assert re.search(rf"^\s+{page}\s*$", index, re.M), f"{page} missing from the toctree"


def test_api_reference_lists_every_public_name():
    api = (DOCS / "api.rst").read_text()
    listed = set(re.findall(r"^\s{3}(\w+)\s*$", api, re.M))
    missing = sorted(set(statsmodels_kinship.__all__) - listed)
    assert not missing, f"public names missing from docs/api.rst: {missing}"
    unknown = sorted(listed - set(statsmodels_kinship.__all__))
    assert not unknown, f"docs/api.rst lists names that are not public: {unknown}"


def test_every_guide_page_has_code():
    for page in GUIDE:
        assert code_blocks((DOCS / f"{page}.rst").read_text()), page


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": f"docs_{page[:-4]}"}
    skipped = []
    for number, block in enumerate(code_blocks((DOCS / page).read_text())):
        required = re.match(r"#\s*requires:\s*([\w.]+)", block)
        if required and importlib.util.find_spec(required.group(1)) is None:
            skipped.append(required.group(1))
            continue
        with warnings.catch_warnings():
            # the guide shows its expected warnings itself; an unexpected one fails
            warnings.simplefilter("error")
            exec(compile(block, f"docs/{page} code block {number}", "exec"), namespace)
    if code_blocks((DOCS / page).read_text()) and not skipped:
        assert capsys.readouterr().out  # every page with code prints what it shows
    if skipped:
        pytest.skip(f"optional extras not installed: {', '.join(skipped)} (the other blocks ran)")

"""Sphinx configuration of the statsmodels-kinship documentation (``make docs``)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import statsmodels_kinship  # noqa: E402

project = "statsmodels-kinship"
author = "statsmodels-kinship developers"
copyright = "statsmodels-kinship developers"
release = statsmodels_kinship.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# the API reference is generated from the docstrings (numpydoc format, as statsmodels)
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# no network access is needed to build: intersphinx mappings stay empty
intersphinx_mapping = {}

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Linear mixed models with a known kinship matrix"}

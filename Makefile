# Two set-up commands (see README): `make demo` and `make test`; `make docs` builds the
# documentation site into docs/_build/html (warnings are errors).
# Each creates the virtual environment .venv on first use and installs the package into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-docs: setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@

demo: $(VENV)/.installed-demo
	$(PY) examples/family_snp_study.py docs/images

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

docs: $(VENV)/.installed-docs
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info docs/_build docs/generated

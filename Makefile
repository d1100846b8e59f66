# Two entry points a newcomer needs: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench eval venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,eval]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/airlock serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# The pure cores are held to mypy --strict, as part of the tests.
MYPY_PATHS ?= src/airlock/interpreter src/airlock/policy src/airlock/guards

test: $(STAMP)
	$(BIN)/python -m mypy --strict $(MYPY_PATHS)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/interpreter.py
	$(BIN)/python bench/isolation.py
	$(BIN)/python bench/_gateway/clients.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/warm_start.py
	$(BIN)/python bench/dual_llm_scale.py
	$(BIN)/python bench/dual_llm_cost.py
	$(BIN)/python bench/guards.py
	$(BIN)/python bench/langgraph_runs.py

# The full AgentDojo v1.2 evaluation, offline (scripted oracle as planner and reader).
eval: $(STAMP)
	$(BIN)/airlock eval agentdojo --json eval-agentdojo.json

clean:
	rm -rf $(VENV)

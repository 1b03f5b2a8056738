# The two commands of the README:
#   make run   installs dependencies, builds, and starts valija in local mode
#   make test  installs dependencies, builds, and runs every test (unit + end-to-end, then
#              both again in an ASan + UBSan build, then 30 s of fuzzing per parser)
BUILD ?= build
CMAKE_FLAGS ?=
PORT_BASE ?= 10000
DATA ?= valija-data

FUZZ_SECONDS ?= 30

ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan

.PHONY: deps build run test unit e2e fuzz sanitize tsan clean

deps:
	@bash scripts/bootstrap.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@ninja -C $(BUILD)

run: build
	./$(BUILD)/valija serve --data $(DATA) --port-base $(PORT_BASE)

unit: build
	cd $(BUILD) && ctest --output-on-failure

e2e: build
	VALIJA_BIN=$(CURDIR)/$(BUILD)/valija /usr/bin/python3 -m pytest -q tests/e2e

# libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz/, each run FUZZ_SECONDS;
# a crash, leak or timeout fails (scripts/fuzz.sh; `make fuzz FUZZ_SECONDS=600` hunts longer).
fuzz: deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# The unit and end-to-end suites against an AddressSanitizer + UndefinedBehaviorSanitizer
# build (its own tree; any report aborts the process, so the test fails). Warnings are
# the main build's business: g++ 12 warns falsely in libstdc++ under the sanitizers.
sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DVALIJA_SANITIZE=ON >/dev/null
	@ninja -C $(ASAN_BUILD)
	cd $(ASAN_BUILD) && ctest --output-on-failure
	VALIJA_BIN=$(CURDIR)/$(ASAN_BUILD)/valija /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

# ThreadSanitizer (not part of `make test`): the store and group-commit unit tests and
# the whole end-to-end suite against a TSan build; a report stops the server (the
# tests then fail).
tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
	  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
	@ninja -C $(TSAN_BUILD) store_test delivery_test auth_test valija
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 ./src/store/store_test && \
	  TSAN_OPTIONS=halt_on_error=1 ./src/delivery/delivery_test && TSAN_OPTIONS=halt_on_error=1 ./src/auth/auth_test
	TSAN_OPTIONS=halt_on_error=1 VALIJA_BIN=$(CURDIR)/$(TSAN_BUILD)/valija \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

test: CMAKE_FLAGS += -DVALIJA_WERROR=ON
test: build
	cd $(BUILD) && ctest --output-on-failure
	VALIJA_BIN=$(CURDIR)/$(BUILD)/valija /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
	$(MAKE) --no-print-directory sanitize
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)

# The two commands of the README:
#   make run   installs dependencies, builds, and starts valija in local mode
#   make test  installs dependencies, builds, and runs every test (unit + end-to-end +
#              30 s of fuzzing per parser)
BUILD ?= build
CMAKE_FLAGS ?=
PORT_BASE ?= 10000
DATA ?= valija-data

FUZZ_SECONDS ?= 30

.PHONY: deps build run test unit e2e fuzz clean

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

test: CMAKE_FLAGS += -DVALIJA_WERROR=ON
test: build
	cd $(BUILD) && ctest --output-on-failure
	VALIJA_BIN=$(CURDIR)/$(BUILD)/valija /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)

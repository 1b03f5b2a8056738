# The two commands of the README:
#   make run   installs dependencies, builds, and starts valija in local mode
#   make test  installs dependencies, builds, and runs every test (unit + end-to-end)
BUILD ?= build
CMAKE_FLAGS ?=
PORT_BASE ?= 10000
DATA ?= valija-data

.PHONY: deps build run test unit e2e clean

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

test: CMAKE_FLAGS += -DVALIJA_WERROR=ON
test: build
	cd $(BUILD) && ctest --output-on-failure
	VALIJA_BIN=$(CURDIR)/$(BUILD)/valija /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

clean:
	rm -rf $(BUILD)

# The two commands of Troupe (see README.md): `make demo` and `make test`. Each installs what is
# missing, configures and builds by itself.
BUILD ?= build
MAKEFLAGS += --no-print-directory
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps configure build test demo bench bench-kv bench-kv-etcd bench-bank bench-snapshot format clean

all: build

deps:
	@scripts/install-deps.sh $(BUILD)

$(BUILD)/CMakeCache.txt:
	@$(MAKE) --no-print-directory deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD)/CMakeCache.txt
	@scripts/timed.sh build cmake --build $(BUILD) -j$(JOBS)

test: build
	@scripts/run-tests.sh $(BUILD)

demo: build
	@scripts/demo.sh $(BUILD)

# Benchmarks measure speed; none of them is part of `make test`.
bench: build
	@$(BUILD)/bin/troupe bench transport

bench-kv: build
	@$(BUILD)/bin/troupe bench kv

bench-kv-etcd: build
	@scripts/bench-kv-vs-etcd.sh $(BUILD)

bench-bank: build
	@examples/bank/bench.sh $(BUILD)

bench-snapshot: build
	@scripts/bench-snapshot.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)

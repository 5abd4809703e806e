# grpo: the two commands of the Quick start, and a few more.
#   make demo    build and run the demo
#   make test    build and run every test (what CI runs)
#   make bench   build and run the benchmarks, JSON under build/bench/
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
DEPS  := cmake g++ make libeigen3-dev libboost-dev catch2 libbenchmark-dev

.PHONY: all deps configure build test demo bench clean

all: build

deps:
	@scripts/deps.sh $(DEPS)

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DGRPO_BUILD_BENCHMARKS=ON

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target demo
	@$(BUILD)/examples/demo

bench: configure
	@scripts/bench.sh $(BUILD)

clean:
	@rm -rf $(BUILD)

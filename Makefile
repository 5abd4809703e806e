# grpo: the two commands of the Quick start, and a few more.
#   make demo    build and run the demo
#   make test    build and run every test (what CI runs)
#   make bench   build and run the benchmarks, JSON under build/bench/
#   make lab     build and run the estimator lab, tables and plots under build/lab/ (docs/lab.md)
#   make check-sanitize   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz    build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
DEPS  := cmake g++ make libeigen3-dev libboost-dev catch2 libbenchmark-dev libthrust-dev libcub-dev \
         libopenmpi-dev openmpi-bin libtorch-dev

SAN_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_DEPS := clang libclang-rt-dev libomp-dev

.PHONY: all deps configure build test demo bench lab pipeline check-sanitize fuzz clean

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

lab: configure
	@scripts/lab.sh $(BUILD)

pipeline: configure
	@scripts/pipeline.sh $(BUILD)

# clang: GCC 12 takes ~7x longer to compile this code with -fsanitize=undefined at -O1
# (docs/hardening.md). Suites that run short are built at -O0 (tests/CMakeLists.txt).
# OMP_WAIT_POLICY=passive: OpenMP's spinning threads took a third of the CPU while another test
# ran beside them. The consumer builds and the compile-fail checks do not exercise the library
# at run time, so they are left out.
check-sanitize: deps
	@scripts/deps.sh $(FUZZ_DEPS)
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DGRPO_SANITIZE=address,undefined \
	  -DGRPO_ENABLE_CUDA=OFF -DGRPO_BUILD_EXAMPLES=OFF -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON \
	  -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@cd $(SAN_BUILD) && OMP_WAIT_POLICY=passive ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:allocator_may_return_null=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitize/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -E "^(failtest_|consumer_)"

fuzz: deps
	@scripts/deps.sh $(FUZZ_DEPS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	@rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

# Entry points. `make run` and `make test` work on a fresh machine: they install what is missing
# (scripts/setup.sh), configure, build and then run.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= $(ASAN_BUILD)
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build run demo test asan-test fuzz bench clean

all: build

setup:
	@bash scripts/setup.sh

# Release, as bench/ builds it: debug info doubles g++'s compile time for this tree (56 s vs 26 s
# for completion_exchange.cpp), which is most of a fresh `make test`. Pass
# CMAKE_FLAGS=-DCMAKE_BUILD_TYPE=RelWithDebInfo for a tree to debug.
configure: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Starts the gateway on its embedded defaults (127.0.0.1:4000).
run: configure
	@cmake --build $(BUILD) -j $(JOBS) --target llmux
	$(BUILD)/llmux serve

# A full round trip with no API key and no local model server: fake provider + gateway + request.
demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target llmux llmux-fake-provider llmux-example-chat
	@bash scripts/demo.sh $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# One clang build serves the sanitizer run and the fuzzers: the libraries are compiled once with
# ASan+UBSan and libFuzzer's coverage instrumentation, then linked into the tests and the fuzz
# targets alike (two builds of the whole tree would double CI's longest step).
SANITIZED_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DLLMUX_SANITIZE=ON \
	-DLLMUX_FUZZ=ON -DLLMUX_BUILD_BENCH=OFF

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-test: setup
	@cmake -S . -B $(ASAN_BUILD) -G Ninja $(SANITIZED_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (fuzz/) under ASan+UBSan, each run for FUZZ_SECONDS, two at a time;
# FUZZ_TARGETS="sse_stream …" runs only those. Shares the sanitizer build (FUZZ_BUILD).
fuzz: setup
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja $(SANITIZED_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target llmux_fuzz
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh $(FUZZ_TARGETS)

# Benchmarks against nginx and Portkey on loopback (about 5 min; BENCH_ARGS=--smoke or --long).
bench:
	@bash bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-fuzz

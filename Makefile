# The two commands of the README: `make demo` and `make test`. Everything else is plumbing.
BUILD ?= build
BUILD_ASAN ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Debian packages the build, the tests, the demo and the analysis tools need.
DEPS := build-essential cmake pkg-config libconfig-dev libopenblas-dev libhdf5-dev hdf5-tools \
        libcriterion-dev zlib1g-dev dataset-fashion-mnist python3 python3-h5py python3-numpy \
        python3-pandas python3-matplotlib
BENCH_DEPS := python3-torch

.PHONY: all deps build demo test test-asan bench bench-deps clean format

all: build

# apt-get only for what is missing, so a ready machine pays nothing.
deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DLARCH_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

# A real search (random, 2 seeds, trained), then a small tabular benchmark built by the same
# trainer and a replayed head-to-head comparison of four strategies, with figures.
demo: build
	./$(BUILD)/larch run examples/demo.cfg -o demo.h5 --force
	./$(BUILD)/larch report demo.h5
	./$(BUILD)/larch tabulate examples/demo-table.cfg -o demo-table.h5 --force
	./$(BUILD)/larch run examples/nb201-fmnist-replay.cfg -o demo-replay.h5 --force --quiet \
	    --set experiment.seeds=50
	./$(BUILD)/larch report demo-replay.h5
	/usr/bin/python3 tools/larch_plot.py demo-replay.h5 --out demo-plots

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DLARCH_WERROR=ON -DLARCH_ASAN=ON -DLARCH_UBSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j$(JOBS)

# PyTorch (Debian's python3-torch) for bench_trainer's comparison, installed only when missing.
bench-deps:
	@missing=$$(for p in $(BENCH_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

bench: build bench-deps
	./$(BUILD)/bench/bench_trainer
	./$(BUILD)/bench/bench_replay

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)

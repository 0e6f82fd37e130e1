# llavero — the two commands a newcomer needs are `make serve` and `make test`.
# Every target installs what is missing first (scripts/install-deps.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
DATA       ?= $(or $(LLAVERO_DATA),llavero-data)

.PHONY: all deps build serve test asan bench format clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

serve: build
	@bash scripts/serve.sh $(BUILD)/llavero "$(DATA)"

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLLAVERO_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bench/llavero_bench --benchmark_counters_tabular=true
	$(BUILD)/bench/llavero_crl_bench --benchmark_counters_tabular=true
	$(BUILD)/bench/llavero_xades_bench --benchmark_counters_tabular=true
	bash scripts/bench-ocsp.sh $(BUILD)
	bash scripts/bench-portal.sh $(BUILD)
	bash scripts/bench-reception.sh $(BUILD)

format:
	find src tests bench \( -name "*.h" -o -name "*.cc" \) | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

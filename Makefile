# llavero — the two commands a newcomer needs are `make serve` and `make test`.
# Every target installs what is missing first (scripts/install-deps.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = identification clave form http_request ocsp_request xades_verify
JOBS       ?= $(shell nproc)
DATA       ?= $(or $(LLAVERO_DATA),llavero-data)
MUTANT_JOBS ?= 2

.PHONY: all deps build serve test asan bench bench-growth fuzz mutants format clean

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

# Each fuzz target (fuzz/) explores for FUZZ_SECONDS with libFuzzer, starting
# from its corpus in tests/fuzz/corpus/; new inputs go to $(FUZZ_BUILD)/corpus,
# crashes to $(FUZZ_BUILD)/crashes (add them to the corpus and a unit test).
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLAVERO_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
	  echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
	    || exit 1; \
	done

# Each rule of docs/architecture.md broken on purpose, one at a time, in a
# copy of the tree (build-mutants/, its build kept between runs): the tests
# named for it must fail. Not part of `make test`; scripts/mutants.sh says how.
mutants: build
	JOBS=$(MUTANT_JOBS) bash scripts/mutants.sh $(BUILD)

# `bench` is every benchmark of a few minutes; `bench-growth` (apart, 6 to 8
# minutes and ~16 GB of disk) compares the same figures on a PostgreSQL store
# of 1 000 000 taxpayers and 5 000 000 certificates and on a near-empty one
# (GROWTH_TAXPAYERS=10000 for a quick run; scripts/bench-growth.sh says more).
bench: build
	$(BUILD)/bench/llavero_bench --benchmark_counters_tabular=true
	$(BUILD)/bench/llavero_crl_bench --benchmark_counters_tabular=true
	$(BUILD)/bench/llavero_xades_bench --benchmark_counters_tabular=true
	bash scripts/bench-ocsp.sh $(BUILD)
	bash scripts/bench-portal.sh $(BUILD)
	bash scripts/bench-keypool.sh $(BUILD)
	bash scripts/bench-reception.sh $(BUILD)
	bash scripts/bench-herramienta.sh $(BUILD)
	bash scripts/bench-abuse.sh $(BUILD)
	bash scripts/bench-cluster.sh $(BUILD)

bench-growth: build
	bash scripts/bench-growth.sh $(BUILD)

format:
	find src tests bench fuzz \( -name "*.h" -o -name "*.cc" \) | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-mutants

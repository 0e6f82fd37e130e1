// What the benchmark programs share: a console reporter that notes the time
// per iteration of each benchmark as its runs go by, and a main() body that
// runs the benchmarks with it (repetitions interleaved in random order unless
// the command line says otherwise) and hands it to the program's summary.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llavero {

class MeasuringReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  // Seconds per iteration on one clock (real or CPU).
  struct Times {
    double total = 0;            // summed over the iteration runs seen
    double min = 0;              // the fastest iteration run, per iteration
    std::optional<double> mean;  // from the "mean" aggregate
    std::optional<double> sem;   // standard error of that mean ("stddev" / √repetitions)
  };

  // What one benchmark measured. With DisplayAggregatesOnly the console sees
  // only the aggregates, and `iterations` stays 0.
  struct Measure {
    benchmark::IterationCount iterations = 0;  // over the iteration runs seen
    Times real;
    Times cpu;

    // The mean per iteration: over the iteration runs if any were seen, else
    // the "mean" aggregate, else 0.
    double real_mean() const { return mean_of(real); }
    double cpu_mean() const { return mean_of(cpu); }

   private:
    double mean_of(const Times& t) const {
      return iterations > 0 ? t.total / static_cast<double>(iterations) : t.mean.value_or(0);
    }
  };

  void ReportRuns(const std::vector<Run>& reports) override;

  // The measure of "function" (a BENCHMARK_CAPTURE's is "function/case"), or
  // of "function/args" for a benchmark with arguments; null if none ran.
  const Measure* find(const std::string& name) const;

 private:
  std::map<std::string, Measure> measures_;
};

// Runs the benchmarks the command line selects, reporting them on the
// console through a MeasuringReporter, then calls `summary` with it and shuts
// the library down. --benchmark_enable_random_interleaving defaults to true;
// --benchmark_color and --benchmark_counters_tabular are honoured. Returns
// main()'s exit code.
int run_benchmarks(int argc, char** argv,
                   const std::function<void(const MeasuringReporter&)>& summary);

}  // namespace llavero

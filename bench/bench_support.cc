#include "bench_support.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace llavero {

void MeasuringReporter::ReportRuns(const std::vector<Run>& reports) {
  for (const Run& run : reports) {
    if (run.error_occurred || run.iterations <= 0) continue;
    const std::string& args = run.run_name.args;
    Measure& m = measures_[run.run_name.function_name + (args.empty() ? "" : "/" + args)];
    const double n = static_cast<double>(run.iterations);
    const double real = run.real_accumulated_time / n;
    const double cpu = run.cpu_accumulated_time / n;
    if (run.run_type == Run::RT_Iteration) {
      m.real.min = m.iterations == 0 ? real : std::min(m.real.min, real);
      m.cpu.min = m.iterations == 0 ? cpu : std::min(m.cpu.min, cpu);
      m.real.total += run.real_accumulated_time;
      m.cpu.total += run.cpu_accumulated_time;
      m.iterations += run.iterations;
    } else if (run.aggregate_name == "mean") {
      m.real.mean = real;
      m.cpu.mean = cpu;
    } else if (run.aggregate_name == "stddev" && run.repetitions > 1) {
      const double root = std::sqrt(static_cast<double>(run.repetitions));
      m.real.sem = real / root;
      m.cpu.sem = cpu / root;
    }
  }
  ConsoleReporter::ReportRuns(reports);
}

const MeasuringReporter::Measure* MeasuringReporter::find(const std::string& name) const {
  auto it = measures_.find(name);
  return it == measures_.end() ? nullptr : &it->second;
}

namespace {

bool truthy(std::string_view value) {
  for (std::string_view yes : {"", "true", "1", "yes", "on", "t", "y", "TRUE", "True"})
    if (value == yes) return true;
  return false;
}

// The console options --benchmark_color and --benchmark_counters_tabular ask
// for; the library applies them only to its own default reporter.
benchmark::ConsoleReporter::OutputOptions console_options(int argc, char** argv) {
  bool tabular = false;
  std::optional<bool> color;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value_of = [&arg](std::string_view flag) -> std::optional<std::string_view> {
      if (!arg.starts_with(flag)) return std::nullopt;
      std::string_view rest = arg.substr(flag.size());
      if (rest.empty()) return rest;
      if (rest.front() != '=') return std::nullopt;
      return rest.substr(1);
    };
    if (auto v = value_of("--benchmark_counters_tabular")) tabular = truthy(*v);
    if (auto v = value_of("--benchmark_color")) {
      if (*v != "auto") color = truthy(*v);
    }
  }
  if (!color) {
    const char* term = std::getenv("TERM");
    color = isatty(STDOUT_FILENO) && term != nullptr && std::string_view(term) != "dumb";
  }
  int options = benchmark::ConsoleReporter::OO_None;
  if (*color) options |= benchmark::ConsoleReporter::OO_Color;
  if (tabular) options |= benchmark::ConsoleReporter::OO_Tabular;
  return static_cast<benchmark::ConsoleReporter::OutputOptions>(options);
}

}  // namespace

int run_benchmarks(int argc, char** argv,
                   const std::function<void(const MeasuringReporter&)>& summary) {
  const auto options = console_options(argc, argv);  // before Initialize consumes the flags
  // Interleaved repetitions by default; a flag given on the command line comes
  // later and wins.
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  std::vector<char*> args(argv, argv + argc);
  args.insert(args.begin() + 1, interleave);
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
  MeasuringReporter reporter(options);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  summary(reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace llavero

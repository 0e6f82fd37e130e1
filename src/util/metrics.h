// The server's numbers for an operator's Prometheus (issue 15): counters
// kept where their events happen (the HTTP layer counts requests, the
// services count keys, log-ins, OCSP answers, callbacks and comprobantes),
// and one Registry that renders them all in the Prometheus text format
// (version 0.0.4) for GET /metrics on the metrics listener. It is the lowest
// layer: every other layer may count into it, it knows none of them.
//
// There is one registry per process (process()), as a Prometheus client
// library has its default one: each part counts into it from its own .cc
// without being handed anything, and a counter only goes up, so tests that
// run several servers in one process compare before and after.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace llavero::metrics {

// A number that only goes up; increments from any thread.
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Observations (seconds) counted into fixed buckets, with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations at most bounds()[i] (not cumulative); the last is +Inf.
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(); }
  std::uint64_t count() const { return count_.load(); }
  double sum() const { return static_cast<double>(sum_micros_.load()) / 1e6; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};  // millionths: atomics add whole numbers
};

// Request latencies: from a millisecond to ten seconds.
std::vector<double> latency_buckets();

// A family is one metric name with its help text and label names; each
// combination of label values is one series, made on first use. with()
// takes a short lock: keep the reference when the labels are fixed.
template <typename Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::function<std::unique_ptr<Series>()> make);
  Series& with(std::initializer_list<std::string_view> values) {
    return with_values(std::vector<std::string>(values.begin(), values.end()));
  }
  Series& with_values(std::vector<std::string> values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Each series with its label values, in a stable order.
  void each(const std::function<void(const std::vector<std::string>&, const Series&)>& f) const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::function<std::unique_ptr<Series>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using HistogramFamily = Family<Histogram>;

// A value read when /metrics is scraped (a queue's depth, the keys ready):
// each sample is its label values and the number.
struct GaugeSample {
  std::vector<std::string> values;
  double value = 0;
};
using GaugeReader = std::function<std::vector<GaugeSample>()>;

class Registry {
 public:
  // The family `name`, made on first call; a later call with the same name
  // returns the same family (two parts may count into one).
  // `listed`: series made at 0 at once, so that /metrics shows them before
  // their first event (every environment, every source).
  CounterFamily& counters(const std::string& name, const std::string& help,
                          std::vector<std::string> labels = {},
                          const std::vector<std::vector<std::string>>& listed = {});
  HistogramFamily& histograms(const std::string& name, const std::string& help,
                              std::vector<std::string> labels, std::vector<double> bounds);
  // `read` is called at every scrape, on the metrics listener's thread,
  // until the returned handle is destroyed: the part it reads keeps the
  // handle, so a scrape never reads a part that is gone. A later gauge of
  // the same name replaces it.
  class GaugeHandle {
   public:
    GaugeHandle() = default;
    GaugeHandle(Registry* registry, std::string name, std::uint64_t id)
        : registry_(registry), name_(std::move(name)), id_(id) {}
    GaugeHandle(GaugeHandle&& other) noexcept { *this = std::move(other); }
    GaugeHandle& operator=(GaugeHandle&& other) noexcept;
    ~GaugeHandle();

   private:
    Registry* registry_ = nullptr;
    std::string name_;
    std::uint64_t id_ = 0;
  };
  [[nodiscard]] GaugeHandle gauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels, GaugeReader read);

  // Every family in the Prometheus text format, sorted by name.
  std::string render() const;

 private:
  struct Gauge {
    std::string help;
    std::vector<std::string> labels;
    GaugeReader read;
    std::uint64_t id = 0;
  };
  void remove_gauge(const std::string& name, std::uint64_t id);

  // Held while a gauge is read, so that its handle's destructor waits for
  // a scrape in progress; never taken under mu_.
  mutable std::mutex reading_;
  mutable std::mutex mu_;
  std::uint64_t next_gauge_id_ = 1;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_;
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_;
  std::map<std::string, Gauge> gauges_;
};

// The process's registry (see above).
Registry& process();

}  // namespace llavero::metrics

#include "util/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace llavero::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value) {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0)
    sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)),
                          std::memory_order_relaxed);
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <typename Series>
Family<Series>::Family(std::string name, std::string help, std::vector<std::string> labels,
                       std::function<std::unique_ptr<Series>()> make)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      make_(std::move(make)) {}

template <typename Series>
Series& Family<Series>::with_values(std::vector<std::string> key) {
  key.resize(labels_.size());  // a missing value is "", never a mismatched series
  std::lock_guard lock(mu_);
  auto& slot = series_[std::move(key)];
  if (!slot) slot = make_();
  return *slot;
}

template <typename Series>
void Family<Series>::each(
    const std::function<void(const std::vector<std::string>&, const Series&)>& f) const {
  std::lock_guard lock(mu_);
  for (const auto& [values, series] : series_) f(values, *series);
}

template class Family<Counter>;
template class Family<Histogram>;

CounterFamily& Registry::counters(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels,
                                  const std::vector<std::vector<std::string>>& listed) {
  CounterFamily* family = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& slot = counters_[name];
    if (!slot)
      slot = std::make_unique<CounterFamily>(name, help, std::move(labels),
                                             [] { return std::make_unique<Counter>(); });
    family = slot.get();
  }
  for (const auto& values : listed) family->with_values(values);
  return *family;
}

HistogramFamily& Registry::histograms(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = histograms_[name];
  if (!slot)
    slot = std::make_unique<HistogramFamily>(
        name, help, std::move(labels),
        [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
  return *slot;
}

Registry::GaugeHandle Registry::gauge(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels, GaugeReader read) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_gauge_id_++;
  gauges_[name] = Gauge{help, std::move(labels), std::move(read), id};
  return GaugeHandle(this, name, id);
}

void Registry::remove_gauge(const std::string& name, std::uint64_t id) {
  std::lock_guard reading(reading_);
  std::lock_guard lock(mu_);
  if (auto it = gauges_.find(name); it != gauges_.end() && it->second.id == id) gauges_.erase(it);
}

Registry::GaugeHandle& Registry::GaugeHandle::operator=(GaugeHandle&& other) noexcept {
  if (this != &other) {
    if (registry_ != nullptr) registry_->remove_gauge(name_, id_);
    registry_ = std::exchange(other.registry_, nullptr);
    name_ = std::move(other.name_);
    id_ = other.id_;
  }
  return *this;
}

Registry::GaugeHandle::~GaugeHandle() {
  if (registry_ != nullptr) registry_->remove_gauge(name_, id_);
}

Registry& process() {
  static Registry* registry = new Registry();  // never destroyed: counted into until exit
  return *registry;
}

namespace {

// A label value or help text as the text format wants it: \\, \" (labels
// only) and \n escaped.
std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '\n')
      out += "\\n";
    else if (ch == '"' && quotes)
      out += "\\\"";
    else
      out += ch;
  }
  return out;
}

// {a="x",b="y"} plus an extra pair (a histogram's le); "" with no labels.
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i],
                       escape(i < values.size() ? values[i] : "", true));
  if (!extra_name.empty())
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_name, extra_value);
  return out.empty() ? out : "{" + out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(help, false), name, type);
}

}  // namespace

std::string Registry::render() const {
  // Families are only ever added, so the lock is held only to list them; a
  // gauge reads its part without our lock held.
  std::vector<const CounterFamily*> counters;
  std::vector<const HistogramFamily*> histograms;
  std::vector<std::pair<std::string, Gauge>> gauges;
  std::lock_guard reading(reading_);  // a gauge's part stays while we read it
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, family] : counters_) counters.push_back(family.get());
    for (const auto& [name, family] : histograms_) histograms.push_back(family.get());
    for (const auto& [name, gauge] : gauges_) gauges.emplace_back(name, gauge);
  }
  std::map<std::string, std::string> sections;  // by name: the output is sorted
  for (const CounterFamily* family : counters) {
    // The sample's name is the family's with _total, and the text format
    // wants the same name on its HELP and TYPE lines.
    std::string& out = sections[family->name()];
    header(out, family->name() + "_total", family->help(), "counter");
    family->each([&](const std::vector<std::string>& values, const Counter& c) {
      out += fmt::format("{}_total{} {}\n", family->name(), label_set(family->labels(), values),
                         c.value());
    });
  }
  for (const HistogramFamily* family : histograms) {
    std::string& out = sections[family->name()];
    header(out, family->name(), family->help(), "histogram");
    family->each([&](const std::vector<std::string>& values, const Histogram& h) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
        cumulative += h.bucket(i);
        const std::string le = i < h.bounds().size() ? number(h.bounds()[i]) : "+Inf";
        out += fmt::format("{}_bucket{} {}\n", family->name(),
                           label_set(family->labels(), values, "le", le), cumulative);
      }
      const std::string labels = label_set(family->labels(), values);
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", family->name(), labels, number(h.sum()),
                         family->name(), labels, h.count());
    });
  }
  for (const auto& [name, gauge] : gauges) {
    std::string& out = sections[name];
    header(out, name, gauge.help, "gauge");
    for (const GaugeSample& s : gauge.read())
      out += fmt::format("{}{} {}\n", name, label_set(gauge.labels, s.values), number(s.value));
  }
  std::string out;
  for (const auto& [name, text] : sections) out += text;
  return out;
}

}  // namespace llavero::metrics

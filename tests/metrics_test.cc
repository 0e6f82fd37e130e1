// The metrics registry (util/metrics.h) and the JSON log lines
// (util/json_log.h): what Prometheus and a log collector read. The whole
// server's /metrics is checked from outside by tests/metrics/metrics_test.sh
// with Prometheus' own parser.
#include "util/metrics.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include "util/json_log.h"

namespace llavero {
namespace {

TEST(Metrics, CountersRenderOneLinePerLabelSet) {
  metrics::Registry registry;
  auto& keys = registry.counters("llavero_prueba_llaves", "Llaves de la prueba.", {"environment"});
  keys.with({"pruebas"}).add();
  keys.with({"pruebas"}).add(2);
  keys.with({"produccion"}).add();
  // The same name again is the same family.
  registry.counters("llavero_prueba_llaves", "otro texto", {"environment"}).with({"pruebas"}).add();
  EXPECT_EQ(registry.render(),
            "# HELP llavero_prueba_llaves_total Llaves de la prueba.\n"
            "# TYPE llavero_prueba_llaves_total counter\n"
            "llavero_prueba_llaves_total{environment=\"produccion\"} 1\n"
            "llavero_prueba_llaves_total{environment=\"pruebas\"} 4\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  metrics::Registry registry;
  registry.counters("llavero_prueba", "línea 1\nlínea \\2", {"path"}).with({"a\"b\\c\nd"}).add();
  const std::string text = registry.render();
  EXPECT_NE(text.find("# HELP llavero_prueba_total línea 1\\nlínea \\\\2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("llavero_prueba_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos)
      << text;
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  metrics::Registry registry;
  auto& h = registry.histograms("llavero_prueba_segundos", "Latencia.", {"class"}, {0.1, 1})
                .with({"general"});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(registry.render(),
            "# HELP llavero_prueba_segundos Latencia.\n"
            "# TYPE llavero_prueba_segundos histogram\n"
            "llavero_prueba_segundos_bucket{class=\"general\",le=\"0.1\"} 1\n"
            "llavero_prueba_segundos_bucket{class=\"general\",le=\"1\"} 3\n"
            "llavero_prueba_segundos_bucket{class=\"general\",le=\"+Inf\"} 4\n"
            "llavero_prueba_segundos_sum{class=\"general\"} 8.05\n"
            "llavero_prueba_segundos_count{class=\"general\"} 4\n");
}

TEST(Metrics, AGaugeIsReadAtEachScrapeUntilItsHandleGoes) {
  metrics::Registry registry;
  int depth = 3;
  {
    auto handle = registry.gauge("llavero_prueba_cola", "Cola.", {"class"}, [&depth] {
      return std::vector<metrics::GaugeSample>{{{"general"}, static_cast<double>(depth)}};
    });
    EXPECT_NE(registry.render().find("llavero_prueba_cola{class=\"general\"} 3\n"),
              std::string::npos);
    depth = 5;
    EXPECT_NE(registry.render().find("llavero_prueba_cola{class=\"general\"} 5\n"),
              std::string::npos);
  }
  // Its part is gone: a scrape no longer reads it.
  EXPECT_EQ(registry.render().find("llavero_prueba_cola"), std::string::npos);
}

TEST(JsonLog, TextIsEscapedAndBadUtf8Replaced) {
  EXPECT_EQ(json_escape("a\"b\\c\nd\te"), "a\\\"b\\\\c\\u000ad\\u0009e");
  EXPECT_EQ(json_escape("PEÑA"), "PEÑA");
  EXPECT_EQ(json_escape("x\xff\xc3y"), "x\\ufffd\\ufffdy");
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // a surrogate is not UTF-8
}

TEST(JsonLog, ALineIsOneJsonObject) {
  auto formatter = json_log_formatter();
  spdlog::details::log_msg msg(spdlog::source_loc{}, "accesos", spdlog::level::warn,
                               "127.0.0.1 GET /a\"b 404");
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  const std::string line(out.data(), out.size());
  EXPECT_TRUE(line.starts_with("{\"hora\":\"")) << line;
  EXPECT_NE(line.find("Z\",\"nivel\":\"warning\",\"registro\":\"accesos\",\"mensaje\":\"127.0.0.1 "
                      "GET /a\\\"b 404\"}\n"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace llavero

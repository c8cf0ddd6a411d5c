#pragma once
/// \file
/// Prometheus' text exposition format for what is not a live store: gauges
/// built from values in hand (`strata stats --format prometheus`), rendered
/// with prometheus-cpp's TextSerializer, and a file written whole for
/// node_exporter's textfile collector (`strata ... --metrics-file`), which
/// must never read half of one.

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace strata::prometheus {

/// One sample: its labels and value.
struct Sample {
  std::vector<::prometheus::ClientMetric::Label> labels;  ///< name and value of each label
  double value = 0;                                       ///< the sample's value
};

/// A family of counters or gauges named `name`, one per sample.
inline ::prometheus::MetricFamily metric_family(std::string name, std::string help,
                                                ::prometheus::MetricType type,
                                                const std::vector<Sample>& samples) {
  ::prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  for (const Sample& s : samples) {
    ::prometheus::ClientMetric metric;
    metric.label = s.labels;
    if (type == ::prometheus::MetricType::Counter)
      metric.counter.value = s.value;
    else
      metric.gauge.value = s.value;
    family.metric.push_back(std::move(metric));
  }
  return family;
}

/// A family of gauges named `name`, one per sample.
inline ::prometheus::MetricFamily gauges(std::string name, std::string help,
                                         const std::vector<Sample>& samples) {
  return metric_family(std::move(name), std::move(help), ::prometheus::MetricType::Gauge, samples);
}

/// The families in the text exposition format (version 0.0.4).
inline std::string to_text(const std::vector<::prometheus::MetricFamily>& families) {
  return ::prometheus::TextSerializer().Serialize(families);
}

/// Writes `text` to `path` whole: into a file beside it, then renamed over
/// it, so a reader sees the old file or the new one. False when it could not.
inline bool write_textfile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path partial = path;
  partial += ".partial-" + std::to_string(::getpid());
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return false;
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) std::filesystem::remove(partial, error);
  return !error;
}

}  // namespace strata::prometheus

#pragma once
/// \file
/// Progress for long operations: on a terminal a bar redrawn in place with
/// the rate and, when the total is known, the ETA; otherwise (a log, a pipe,
/// CI) a plain line at most every `interval`, so logs stay readable. With a
/// metrics file, each drawing also rewrites that file (whole, by rename) in
/// Prometheus' text format, for node_exporter's textfile collector.

#include <strata/prometheus/exposition.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include <unistd.h>  // isatty, fileno

namespace strata::cli {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  Progress(std::string label, std::optional<std::size_t> total, std::string metrics_file = {},
           std::FILE* out = stderr, std::chrono::milliseconds interval = std::chrono::seconds(2))
      : label_(std::move(label)),
        total_(total),
        metrics_file_(std::move(metrics_file)),
        out_(out),
        tty_(::isatty(::fileno(out)) == 1),
        interval_(tty_ ? std::chrono::milliseconds(100) : interval) {}

  /// `done` units so far (records, keys); draws when due.
  void update(std::size_t done) {
    done_ = done;
    const auto now = Clock::now();
    if (now - last_ < interval_) return;
    last_ = now;
    draw(false);
  }

  /// The final state: drawn, unless a log line already shows it (a line per
  /// state, never the last one twice).
  void finish() {
    if (tty_ || !drawn_ || drawn_done_ != done_) draw(true);
    if (!metrics_file_.empty())
      write_metrics(std::chrono::duration<double>(Clock::now() - start_).count(), true);
    if (tty_) std::fputc('\n', out_);
    std::fflush(out_);
  }

 private:
  static std::string duration(double seconds) {
    const auto s = static_cast<long long>(seconds + 0.5);
    return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  }

  void draw(bool final) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
    std::string eta;
    if (total_ && rate > 0 && !final && *total_ > done_)
      eta = " ETA " + duration(static_cast<double>(*total_ - done_) / rate);
    if (tty_) {
      std::string bar;
      if (total_ && *total_ > 0) {
        constexpr std::size_t width = 30;
        const std::size_t filled = std::min(width, done_ * width / *total_);
        bar =
            fmt::format("[{}{}] {:3}% ", std::string(filled, '#'), std::string(width - filled, '.'),
                        std::min<std::size_t>(100, done_ * 100 / *total_));
      }
      fmt::print(out_, "\r{}: {}{}{} {:.0f}/s {}{}\x1b[K", label_, bar, done_,
                 total_ ? fmt::format("/{}", *total_) : "", rate, duration(elapsed), eta);
    } else {
      fmt::print(out_, "{}: {}{} done, {:.0f}/s, elapsed {}{}\n", label_, done_,
                 total_ ? fmt::format(" of {}", *total_) : "", rate, duration(elapsed), eta);
    }
    std::fflush(out_);
    drawn_ = true;
    drawn_done_ = done_;
    if (!metrics_file_.empty() && !final)
      write_metrics(elapsed, false);  // finish() writes the last
  }

  /// strata_operation_{records,total_records,elapsed_seconds,finished}{operation="<label>"}.
  void write_metrics(double elapsed, bool final) const {
    namespace prom = strata::prometheus;
    const std::vector<::prometheus::ClientMetric::Label> labels{{"operation", label_}};
    std::vector<::prometheus::MetricFamily> families{
        prom::gauges("strata_operation_records", "Records the operation has processed",
                     {{labels, static_cast<double>(done_)}}),
        prom::gauges("strata_operation_elapsed_seconds", "Time since the operation started",
                     {{labels, elapsed}}),
        prom::gauges("strata_operation_finished", "1 once the operation has ended",
                     {{labels, final ? 1.0 : 0.0}})};
    if (total_)
      families.push_back(prom::gauges("strata_operation_total_records",
                                      "Records the operation expects to process",
                                      {{labels, static_cast<double>(*total_)}}));
    if (!prom::write_textfile(metrics_file_, prom::to_text(families)))
      fmt::print(out_, "{}: cannot write the metrics file\n", label_);
  }

  std::string label_;
  std::optional<std::size_t> total_;
  std::string metrics_file_;  // empty: none
  std::FILE* out_;
  bool tty_;
  std::chrono::milliseconds interval_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
  std::size_t done_ = 0;
  bool drawn_ = false;
  std::size_t drawn_done_ = 0;  // what the last line drawn showed
};

}  // namespace strata::cli

#pragma once
// Per-step metrics: an ordered list of (name, value) pairs per step, written as CSV (header
// from the first record) or JSON Lines (one object per line). Names are fixed by the first
// record; a later record with other names is refused so the file stays rectangular.
#include <grpo/core/error.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grpo::train {

/// One row of metrics, in insertion order.
struct metrics_record {
  std::vector<std::pair<std::string, double>> values;

  void set(std::string_view name, double v) {
    for (auto& [n, x] : values)
      if (n == name) {
        x = v;
        return;
      }
    values.emplace_back(std::string(name), v);
  }
  /// The value of `name`, or NaN.
  [[nodiscard]] double get(std::string_view name) const {
    for (const auto& [n, x] : values)
      if (n == name) return x;
    return std::nan("");
  }
  [[nodiscard]] bool has(std::string_view name) const {
    for (const auto& [n, x] : values)
      if (n == name) return true;
    return false;
  }
};

/// A number as text: shortest round-trip form for finite values; JSON has no NaN/Inf, so
/// those become `null` in JSONL and empty cells in CSV.
inline std::string format_number(double v) {
  if (!std::isfinite(v)) return {};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

/// A JSON string literal (quotes and control characters escaped).
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += b;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

/// One JSON object from a record.
inline std::string to_json(const metrics_record& r) {
  std::string s = "{";
  for (std::size_t k = 0; k < r.values.size(); ++k) {
    if (k) s += ",";
    const auto num = format_number(r.values[k].second);
    s += json_string(r.values[k].first) + ":" + (num.empty() ? "null" : num);
  }
  return s + "}";
}

enum class metrics_format { csv, jsonl };

/// Appends records to a CSV or JSONL file (format from the extension: ".jsonl"/".json" =
/// JSON Lines, anything else CSV). Flushes every row, so a crashed run keeps its curve.
class metrics_writer {
 public:
  metrics_writer() = default;

  status open(const std::filesystem::path& path) {
    format_ = (path.extension() == ".jsonl" || path.extension() == ".json") ? metrics_format::jsonl
                                                                            : metrics_format::csv;
    if (path.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
    }
    out_.open(path, std::ios::out | std::ios::trunc);
    if (!out_) return {errc::io_error, path.string(), -1, "cannot open the metrics file"};
    path_ = path;
    names_.clear();
    return {};
  }
  [[nodiscard]] bool is_open() const { return out_.is_open(); }
  [[nodiscard]] metrics_format format() const { return format_; }

  status write(const metrics_record& r) {
    if (!out_.is_open()) return {errc::io_error, "metrics", -1, "write before open"};
    if (names_.empty()) {
      for (const auto& [n, v] : r.values) names_.push_back(n);
      if (format_ == metrics_format::csv) {
        for (std::size_t k = 0; k < names_.size(); ++k) out_ << (k ? "," : "") << names_[k];
        out_ << '\n';
      }
    } else {
      if (r.values.size() != names_.size())
        return {errc::shape_mismatch, "metrics_record", static_cast<index_t>(r.values.size()),
                "a record must have the columns of the first one (" +
                    std::to_string(names_.size()) + ")"};
      for (std::size_t k = 0; k < names_.size(); ++k)
        if (r.values[k].first != names_[k])
          return {errc::shape_mismatch, "metrics_record", static_cast<index_t>(k),
                  "column `" + r.values[k].first + "` where `" + names_[k] + "` was expected"};
    }
    if (format_ == metrics_format::csv) {
      for (std::size_t k = 0; k < r.values.size(); ++k)
        out_ << (k ? "," : "") << format_number(r.values[k].second);
      out_ << '\n';
    } else {
      out_ << to_json(r) << '\n';
    }
    out_.flush();
    if (!out_) return {errc::io_error, path_.string(), -1, "write failed"};
    return {};
  }

 private:
  std::ofstream out_;
  std::filesystem::path path_;
  metrics_format format_ = metrics_format::csv;
  std::vector<std::string> names_;
};

}  // namespace grpo::train

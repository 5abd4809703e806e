#pragma once
// Line plots as SVG, with no dependency: a grid of panels, each with its own axes and one or
// more named curves. Non-finite points are skipped (the line is broken there).
//
//   grpo::train::figure fig{"GRPO run"};
//   fig.panels.push_back({"reward", {{"accuracy", steps, acc}, {"format", steps, fmt}}});
//   GRPO_TRY(grpo::train::write_svg(fig, "build/demo/curves.svg"));
#include <grpo/core/error.hpp>
#include <grpo/train/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace grpo::train {

struct curve {
  std::string name;
  std::vector<double> x, y;
};

struct panel {
  std::string title;
  std::vector<curve> curves;
};

struct figure {
  std::string title;
  std::vector<panel> panels;
  int columns = 3;
  int panel_width = 360, panel_height = 220;
};

namespace detail {
inline std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}
inline std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}
inline std::string px(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}
}  // namespace detail

/// The SVG text of a figure.
inline std::string to_svg(const figure& f) {
  static constexpr const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                           "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  const int cols = std::max(1, f.columns);
  const int rows = static_cast<int>((f.panels.size() + static_cast<std::size_t>(cols) - 1) / static_cast<std::size_t>(cols));
  const int W = cols * f.panel_width, H = 30 + std::max(rows, 1) * f.panel_height;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(W) +
                  "\" height=\"" + std::to_string(H) + "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"10\" y=\"20\" font-size=\"15\">" + detail::xml_escape(f.title) + "</text>\n";
  for (std::size_t p = 0; p < f.panels.size(); ++p) {
    const auto& pn = f.panels[p];
    const double ox = static_cast<double>((static_cast<int>(p) % cols) * f.panel_width);
    const double oy = 30.0 + static_cast<double>((static_cast<int>(p) / cols) * f.panel_height);
    const double left = ox + 50, right = ox + f.panel_width - 12, top = oy + 22,
                 bottom = oy + f.panel_height - 30;
    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
    for (const auto& c : pn.curves)
      for (std::size_t k = 0; k < std::min(c.x.size(), c.y.size()); ++k)
        if (std::isfinite(c.x[k]) && std::isfinite(c.y[k])) {
          xmin = std::min(xmin, c.x[k]);
          xmax = std::max(xmax, c.x[k]);
          ymin = std::min(ymin, c.y[k]);
          ymax = std::max(ymax, c.y[k]);
        }
    if (!(xmin <= xmax)) { xmin = 0; xmax = 1; ymin = 0; ymax = 1; }
    if (xmax == xmin) xmax = xmin + 1;
    if (ymax == ymin) { ymin -= 0.5; ymax += 0.5; }
    const double pad = 0.05 * (ymax - ymin);
    ymin -= pad;
    ymax += pad;
    auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (right - left); };
    auto Y = [&](double y) { return bottom - (y - ymin) / (ymax - ymin) * (bottom - top); };
    s += "<text x=\"" + detail::px(left) + "\" y=\"" + detail::px(oy + 15) + "\" font-weight=\"bold\">" +
         detail::xml_escape(pn.title) + "</text>\n";
    s += "<rect x=\"" + detail::px(left) + "\" y=\"" + detail::px(top) + "\" width=\"" + detail::px(right - left) +
         "\" height=\"" + detail::px(bottom - top) + "\" fill=\"none\" stroke=\"#999\"/>\n";
    for (int t = 0; t <= 4; ++t) {  // y ticks
      const double yv = ymin + (ymax - ymin) * t / 4.0;
      s += "<line x1=\"" + detail::px(left) + "\" x2=\"" + detail::px(right) + "\" y1=\"" + detail::px(Y(yv)) +
           "\" y2=\"" + detail::px(Y(yv)) + "\" stroke=\"#eee\"/>\n";
      s += "<text x=\"" + detail::px(left - 4) + "\" y=\"" + detail::px(Y(yv) + 4) + "\" text-anchor=\"end\">" +
           detail::num(yv) + "</text>\n";
    }
    for (int t = 0; t <= 4; ++t) {  // x ticks
      const double xv = xmin + (xmax - xmin) * t / 4.0;
      s += "<text x=\"" + detail::px(X(xv)) + "\" y=\"" + detail::px(bottom + 14) + "\" text-anchor=\"middle\">" +
           detail::num(xv) + "</text>\n";
    }
    for (std::size_t c = 0; c < pn.curves.size(); ++c) {
      const auto& cv = pn.curves[c];
      const char* color = colors[c % 8];
      std::string d;
      bool pen = false;
      for (std::size_t k = 0; k < std::min(cv.x.size(), cv.y.size()); ++k) {
        if (!std::isfinite(cv.x[k]) || !std::isfinite(cv.y[k])) { pen = false; continue; }
        d += (pen ? " L" : " M") + detail::px(X(cv.x[k])) + " " + detail::px(Y(cv.y[k]));
        pen = true;
      }
      if (!d.empty())
        s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>\n";
      s += "<text x=\"" + detail::px(left + 6) + "\" y=\"" + detail::px(top + 13 + 12.0 * static_cast<double>(c)) +
           "\" fill=\"" + color + "\">" + detail::xml_escape(cv.name) + "</text>\n";
    }
  }
  return s + "</svg>\n";
}

inline status write_svg(const figure& f, const std::filesystem::path& path) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  std::ofstream out(path, std::ios::out | std::ios::trunc);
  if (!out) return {errc::io_error, path.string(), -1, "cannot open the SVG file"};
  out << to_svg(f);
  if (!out) return {errc::io_error, path.string(), -1, "write failed"};
  return {};
}

/// One panel per group of metric names, x = the metric `x_name`, from a run's records. Rows
/// where a metric is missing or NaN are skipped, so a metric logged every k steps is one line.
inline figure figure_from_records(const std::string& title, const std::vector<metrics_record>& rows,
                                  const std::string& x_name,
                                  const std::vector<std::pair<std::string, std::vector<std::string>>>& layout) {
  figure f{title, {}, 3, 360, 220};
  for (const auto& [ptitle, names] : layout) {
    panel p{ptitle, {}};
    for (const auto& n : names) {
      curve c{n, {}, {}};
      for (const auto& r : rows) {
        if (!r.has(n) || !std::isfinite(r.get(n))) continue;  // sparse metrics (a periodic eval) connect
        c.x.push_back(r.get(x_name));
        c.y.push_back(r.get(n));
      }
      if (!c.x.empty()) p.curves.push_back(std::move(c));
    }
    if (!p.curves.empty()) f.panels.push_back(std::move(p));
  }
  return f;
}

}  // namespace grpo::train

// The estimator lab: measures, with Monte Carlo error bars, what the library's KL estimators,
// advantage estimators and aggregations do against ground truths computed from their formulas
// (the computations are in 06_estimator_lab.hpp; docs/lab.md shows the results and says what
// they mean). Writes one CSV per table, lab.md with every table, and the SVG plots.
//
//   06_estimator_lab [--quick] [--out DIR] [--seed N] [--only kl|advantage|aggregation]
//
// --quick: fewer samples (about 10 s on one core); the default run is what scripts/lab.sh runs.
#include "06_estimator_lab.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

bool write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::out | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

int usage() {
  std::cerr << "usage: 06_estimator_lab [--quick] [--out DIR] [--seed N] [--only kl|advantage|aggregation]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  lab::lab_config cfg;
  std::filesystem::path out_dir = "build/lab";
  std::string only, command = "06_estimator_lab";
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--quick") {
      cfg.quick = true;
    } else if (a == "--out" && k + 1 < argc) {
      out_dir = argv[++k];
    } else if (a == "--seed" && k + 1 < argc) {
      cfg.seed = std::strtoull(argv[++k], nullptr, 10);
    } else if (a == "--only" && k + 1 < argc) {
      only = argv[++k];
      if (only != "kl" && only != "advantage" && only != "aggregation") return usage();
    } else {
      return usage();
    }
    if (a != "--out") command += " " + a;
    if (a == "--seed" || a == "--only") command += std::string(" ") + argv[k];
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::cerr << "cannot create " << out_dir << ": " << ec.message() << "\n";
    return 1;
  }

  struct part {
    const char* id;
    const char* title;
    lab::section (*run)(const lab::lab_config&);
  };
  const part parts[] = {
      {"kl", "1. KL estimators", &lab::kl_section},
      {"advantage", "2. Advantage estimators on a tabular contextual bandit", &lab::advantage_section},
      {"aggregation", "3. Aggregations and the length bias", &lab::aggregation_section},
  };
  std::string md = "# Estimator lab\n\nCommand: `" + command + "` (seed " + std::to_string(cfg.seed) + ")\n\n";
  std::string timings;
  try {
    for (const auto& p : parts) {
      if (!only.empty() && only != p.id) continue;
      const auto t0 = std::chrono::steady_clock::now();
      const lab::section s = p.run(cfg);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::string text = std::string("## ") + p.title + "\n\n";
      for (const auto& t : s.tables) {
        text += lab::to_markdown(t);
        if (!write_file(out_dir / (t.id + ".csv"), lab::to_csv(t))) {
          std::cerr << "cannot write " << (out_dir / (t.id + ".csv")) << "\n";
          return 1;
        }
      }
      for (const auto& [id, fig] : s.figures) {
        grpo::throw_if_error(grpo::train::write_svg(fig, out_dir / (id + ".svg")));
        text += "Plot: `" + id + ".svg`\n\n";
      }
      std::cout << text << std::flush;
      md += text;
      char b[96];
      std::snprintf(b, sizeof b, "%s: %.1f s\n", p.id, secs);
      timings += b;
    }
  } catch (const std::exception& e) {
    std::cerr << "estimator lab: " << e.what() << "\n";
    return 1;
  }
  if (!write_file(out_dir / "lab.md", md)) {
    std::cerr << "cannot write " << (out_dir / "lab.md") << "\n";
    return 1;
  }
  std::cout << "wrote " << (out_dir / "lab.md").string() << ", the CSV tables and the SVG plots\n" << timings;
  return 0;
}

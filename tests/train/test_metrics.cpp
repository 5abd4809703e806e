// Observability: the per-step metrics files are well formed (CSV rectangular with a header,
// JSONL one object per line, NaN written as an empty cell / null), records with other columns
// are refused, the trainer's records carry every documented metric, the SVG plot is a complete
// document, and the progress bar's ETA follows its definition.
#include "bandit_env.hpp"

#include <grpo/model/tabular.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/train/metrics.hpp>
#include <grpo/train/plot.hpp>
#include <grpo/train/progress.hpp>
#include <grpo/train/run.hpp>
#include <grpo/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace grpo_test;

namespace {

std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

grpo::train::trainer_config small_config() {
  grpo::train::trainer_config c;
  c.prompts_per_step = 4;
  c.group_size = 4;
  c.sampling = {1.0, 0, 1.0, 3, 0};
  c.threads = 1;
  return c;
}

std::vector<grpo::train::metrics_record> trainer_records(int steps) {
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(2, 4, 3);
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), small_config());
  std::vector<grpo::train::metrics_record> rows;
  for (int s = 0; s < steps; ++s) {
    grpo::train::metrics_record m;
    REQUIRE(tr.step(m).ok());
    rows.push_back(m);
  }
  return rows;
}

}  // namespace

TEST_CASE("trainer records carry every documented metric", "[train][metrics]") {
  const auto rows = trainer_records(2);
  for (const char* name : {"step", "reward_mean", "reward_std", "reward_bandit_mean", "reward_bandit_std",
                           "completion_length", "truncated_fraction", "reflective_words", "zero_std_fraction",
                           "lr", "loss", "kl", "clip_fraction_low", "clip_fraction_high", "entropy",
                           "ratio_mean", "grad_norm", "sampler_logp_gap", "sampler_logp_gap_max", "seconds"}) {
    INFO(name);
    CHECK(rows[0].has(name));
    CHECK(std::isfinite(rows[0].get(name)));
  }
  CHECK(rows[0].get("step") == 1);
  CHECK(rows[1].get("step") == 2);
  // first inner step: ρ = 1 up to the float rounding of the recorded old log-probs
  CHECK(rows[0].get("ratio_mean") == Approx(1.0).epsilon(1e-6));
  // entropy of a near-uniform 4-way policy at step 1 is close to log 4
  CHECK(rows[0].get("entropy") == Approx(std::log(4.0)).epsilon(0.05));
}

TEST_CASE("CSV and JSONL metrics files are well formed", "[train][metrics]") {
  const auto rows = trainer_records(3);
  const auto dir = std::filesystem::temp_directory_path() / "grpo_test_metrics";
  std::filesystem::remove_all(dir);
  for (const char* name : {"m.csv", "m.jsonl"}) {
    grpo::train::metrics_writer w;
    REQUIRE(w.open(dir / name).ok());
    for (const auto& r : rows) REQUIRE(w.write(r).ok());
    auto nan_row = rows[0];
    nan_row.set("kl", std::nan(""));
    REQUIRE(w.write(nan_row).ok());
    // a record with other columns is refused
    grpo::train::metrics_record other;
    other.set("step", 1);
    CHECK_FALSE(w.write(other).ok());
  }
  const auto csv = read_lines(dir / "m.csv");
  REQUIRE(csv.size() == rows.size() + 2);  // header + rows + the NaN row
  const auto cols = std::count(csv[0].begin(), csv[0].end(), ',') + 1;
  CHECK(cols == static_cast<long>(rows[0].values.size()));
  for (const auto& l : csv) CHECK(std::count(l.begin(), l.end(), ',') + 1 == cols);
  CHECK(csv[0].rfind("step,", 0) == 0);
  CHECK(csv.back().find(",,") != std::string::npos);  // the NaN cell is empty
  const auto jl = read_lines(dir / "m.jsonl");
  REQUIRE(jl.size() == rows.size() + 1);
  for (const auto& l : jl) {
    CHECK(l.front() == '{');
    CHECK(l.back() == '}');
    CHECK(std::count(l.begin(), l.end(), ':') == cols);
    CHECK(l.find("nan") == std::string::npos);
  }
  CHECK(jl.back().find("\"kl\":null") != std::string::npos);
  CHECK(grpo::train::json_string("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
  std::filesystem::remove_all(dir);
}

TEST_CASE("SVG plot is a complete document with one path per curve", "[train][plot]") {
  const auto rows = trainer_records(4);
  auto fig = grpo::train::figure_from_records("t <&>", rows, "step",
                                              {{"reward", {"reward_mean", "reward_bandit_mean"}},
                                               {"entropy", {"entropy"}},
                                               {"missing", {"no_such_metric"}}});
  CHECK(fig.panels.size() == 2);  // the panel with no data is dropped
  const auto svg = grpo::train::to_svg(fig);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  std::size_t paths = 0;
  for (auto at = svg.find("<path"); at != std::string::npos; at = svg.find("<path", at + 1)) ++paths;
  CHECK(paths == 3);
  CHECK(svg.find("t &lt;&amp;&gt;") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  // a sparse metric (NaN between evaluations) becomes one curve through its finite points
  auto sparse = rows;
  for (std::size_t k = 0; k < sparse.size(); ++k) sparse[k].set("eval", k % 2 ? 0.5 : std::nan(""));
  const auto fs = grpo::train::figure_from_records("s", sparse, "step", {{"eval", {"eval"}}});
  REQUIRE(fs.panels.size() == 1);
  CHECK(fs.panels[0].curves[0].x == std::vector<double>{2, 4});
  // a NaN point breaks the line instead of reaching the file
  grpo::train::figure f2{"x", {{"p", {{"c", {0, 1, 2}, {1, std::nan(""), 3}}}}}, 1, 200, 100};
  const auto s2 = grpo::train::to_svg(f2);
  CHECK(s2.find("nan") == std::string::npos);
  CHECK(std::count(s2.begin(), s2.end(), 'M') >= 2);
}

TEST_CASE("progress bar: ETA = mean time per unit times units left", "[train][progress]") {
  grpo::train::progress_bar bar("x", 10, false);
  CHECK(bar.eta(0) < 0);
  const double e = bar.eta(5);
  CHECK(e >= 0);
  CHECK(e <= bar.elapsed() + 1e-3);  // 5 done, 5 left: ETA = elapsed · 5/5
  CHECK(grpo::train::format_duration(0) == "0:00");
  CHECK(grpo::train::format_duration(75) == "1:15");
  CHECK(grpo::train::format_duration(3725) == "1:02:05");
  const auto l = bar.line(5, "r 1");
  CHECK(l.find("5/10") != std::string::npos);
  CHECK(l.find("ETA") != std::string::npos);
  CHECK(l.find("############............") != std::string::npos);
}

TEST_CASE("run(): steps, metrics file, plot and per-step callback", "[train][run]") {
  auto env = make_bandit();
  grpo::model::tabular_policy<double> pi(2, 4, 3);
  grpo::train::trainer tr(pi, env, grpo::group_normalized{}, grpo::presets::trl::grpo(), small_config());
  const auto dir = std::filesystem::temp_directory_path() / "grpo_test_run";
  std::filesystem::remove_all(dir);
  grpo::train::run_options o;
  o.metrics_path = dir / "m.jsonl";
  o.plot_path = dir / "c.svg";
  o.progress = false;
  int calls = 0;
  o.on_step = [&](grpo::index_t step, grpo::train::metrics_record& m) {
    ++calls;
    m.set("seen_step", static_cast<double>(step));
    return grpo::status{};
  };
  std::vector<grpo::train::metrics_record> rows;
  REQUIRE(grpo::train::run(tr, 5, o, rows).ok());
  CHECK(calls == 5);
  CHECK(rows.size() == 5);
  CHECK(rows.back().get("seen_step") == 5);
  CHECK(read_lines(dir / "m.jsonl").size() == 5);
  const auto svg = read_lines(dir / "c.svg");
  REQUIRE_FALSE(svg.empty());
  CHECK(svg.back() == "</svg>");
  // a failing callback stops the run with its status
  o.on_step = [](grpo::index_t, grpo::train::metrics_record&) {
    return grpo::status{grpo::errc::bad_config, "on_step", -1, "stop"};
  };
  CHECK_FALSE(grpo::train::run(tr, 2, o, rows).ok());
  std::filesystem::remove_all(dir);
}

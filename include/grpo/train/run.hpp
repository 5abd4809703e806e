#pragma once
// A training loop with the observability around it: `steps` trainer steps with a progress bar
// (ETA, reward, accuracy), one metrics row per step to CSV or JSONL, the SVG plot of the curves
// at the end, and an optional callback per step (e.g. for a periodic evaluation).
//
//   grpo::train::run_options o;
//   o.metrics_path = "run/metrics.csv";  o.plot_path = "run/curves.svg";
//   std::vector<grpo::train::metrics_record> rows;
//   GRPO_TRY(grpo::train::run(trainer, 100, o, rows));
#include <grpo/core/error.hpp>
#include <grpo/train/metrics.hpp>
#include <grpo/train/plot.hpp>
#include <grpo/train/progress.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace grpo::train {

struct run_options {
  std::filesystem::path metrics_path;  // empty = no file; ".jsonl" = JSON Lines, else CSV
  std::filesystem::path plot_path;     // empty = no plot
  std::string title = "GRPO";
  bool progress = true;
  /// Called after every step with its record (may add values to it before it is written).
  std::function<status(index_t step, metrics_record&)> on_step;
};

/// The panels of the default plot: whatever of these the records have.
inline std::vector<std::pair<std::string, std::vector<std::string>>> default_plot_layout(
    const std::vector<metrics_record>& rows) {
  std::vector<std::string> rewards = {"reward_mean"};
  if (!rows.empty())
    for (const auto& [name, v] : rows.front().values)
      if (name.rfind("reward_", 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, "_mean") == 0 &&
          name != "reward_mean")
        rewards.push_back(name);
  return {{"reward (mean per function)", rewards},
          {"completion length (tokens)", {"completion_length"}},
          {"entropy (nats/token)", {"entropy"}},
          {"KL to reference (k3)", {"kl"}},
          {"zero-std group fraction", {"zero_std_fraction"}},
          {"clip fractions", {"clip_fraction_low", "clip_fraction_high"}},
          {"grad norm (pre-clip)", {"grad_norm"}},
          {"reflective words / completion", {"reflective_words"}},
          {"held-out", {"eval_pass1", "eval_format"}}};
}

template <class Trainer>
status run(Trainer& tr, index_t steps, const run_options& o, std::vector<metrics_record>& rows) {
  metrics_writer writer;
  if (!o.metrics_path.empty()) GRPO_TRY(writer.open(o.metrics_path));
  tr.set_run_length(tr.step_count() + steps);
  progress_bar bar("grpo    ", steps, o.progress);
  for (index_t s = 0; s < steps; ++s) {
    metrics_record m;
    GRPO_TRY(tr.step(m));
    if (o.on_step) GRPO_TRY(o.on_step(tr.step_count(), m));
    if (writer.is_open()) GRPO_TRY(writer.write(m));
    char extra[128];
    if (m.has("accuracy"))
      std::snprintf(extra, sizeof extra, "reward %.2f  acc %.2f  len %.0f", m.get("reward_mean"), m.get("accuracy"),
                    m.get("completion_length"));
    else
      std::snprintf(extra, sizeof extra, "reward %.2f  len %.0f", m.get("reward_mean"), m.get("completion_length"));
    bar.update(s + 1, extra);
    rows.push_back(std::move(m));
  }
  if (!o.plot_path.empty())
    GRPO_TRY(write_svg(figure_from_records(o.title, rows, "step", default_plot_layout(rows)), o.plot_path));
  return {};
}

}  // namespace grpo::train

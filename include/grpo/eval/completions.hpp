#pragma once
// Scoring a JSON Lines file of completions the way DeepSeek-R1 reports results: the library
// behind `grpo-eval` (tools/grpo-eval.cpp, docs/eval.md).
//
// Records: one JSON object per line. A record names its problem (`id`), its gold answer
// (`answer`, or a second JSONL keyed by id) and one completion or several (`completion`: a
// string, a list of strings, or a chat — a list of {"role", "content"} messages whose last
// message is the completion). Records of one problem may be on several lines, in any order.
//
// Per problem the scorer keeps its samples' verdicts and their answers clustered by
// equivalence (so `1/2` and `0.5` vote together in cons@k); memory is O(problems + samples),
// never the completion texts.
#include <grpo/core/error.hpp>
#include <grpo/eval/answer.hpp>
#include <grpo/eval/equivalence.hpp>
#include <grpo/eval/jsonl.hpp>
#include <grpo/eval/metrics.hpp>
#include <grpo/io/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace grpo::eval {

struct completions_config {
  std::string id_field = "id";
  std::string completion_field = "completion";
  std::string answer_field = "answer";
  std::string by_field;  // a field to break the metrics down by ("" = none)
  extraction extract = extraction::answer_block_then_boxed;
  equivalence_options equivalence;
  std::vector<index_t> pass_k{1};  // pass@k for each k
  std::vector<index_t> cons_k{0};  // cons@k for each k; 0 = all of a problem's samples (cons@n)
  bool allow_missing = false;      // leave problems with n < k out of that metric (counted)
  bool skip_bad = false;           // count and skip bad lines instead of stopping
  index_t bootstrap = 1000;        // resamples for the confidence intervals (0 = none)
  double level = 0.95;
  std::uint64_t seed = 0;
  std::size_t max_clusters = 256;  // distinct answers per problem compared by equivalence
};

/// The per-problem state.
struct problem_result {
  std::string id;
  std::string gold;
  std::string subset;
  std::uint64_t first_line = 0;
  std::vector<std::uint8_t> correct;   // per sample, in file order
  std::vector<std::uint32_t> cluster;  // per sample: its answer's cluster, or no_answer
  std::vector<std::string> clusters;   // a representative (normalised) answer per cluster
  std::vector<std::uint8_t> cluster_correct;
  std::unordered_map<std::string, std::uint32_t> cluster_of_text;  // exact normalised text
  static constexpr std::uint32_t no_answer = 0xFFFFFFFFu;

  [[nodiscard]] index_t n() const { return static_cast<index_t>(correct.size()); }
  [[nodiscard]] index_t c() const {
    index_t s = 0;
    for (auto v : correct) s += v;
    return s;
  }
};

struct metric_summary {
  std::string name;  // pass@1, pass@8, cons@64, cons@n, answered
  double value = 0;
  confidence_interval ci;
  index_t problems = 0;  // problems the metric is over
  index_t missing = 0;   // problems left out (n < k, with allow_missing)
};

struct subset_summary {
  std::string name;  // "all" or the subset's value
  index_t problems = 0;
  index_t samples = 0;
  std::vector<metric_summary> metrics;
};

struct completions_summary {
  std::uint64_t lines = 0;    // lines read (blank ones included)
  std::uint64_t records = 0;  // records scored
  std::uint64_t skipped = 0;  // bad lines skipped (skip_bad)
  std::map<std::string, std::uint64_t> skipped_by_reason;
  subset_summary all;
  std::vector<subset_summary> subsets;  // by `by_field`, sorted by name
};

namespace completions_detail {

inline std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9.0e15)
    return std::to_string(static_cast<long long>(v));
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// A gold answer as datasets write it: a worked solution ends in \boxed{…} (MATH) or
// "#### 42" (GSM8K); else the text is the answer.
inline std::string gold_answer(std::string_view text) {
  if (auto b = last_boxed(text)) return std::string(trim(*b));
  if (const auto hash = text.rfind("####"); hash != std::string_view::npos)
    return std::string(trim(text.substr(hash + 4)));
  return std::string(trim(text));
}

inline status scalar_text(const json::value& v, std::string_view field, std::uint64_t line, std::string& out) {
  if (v.is(json::kind::string)) {
    out = v.text;
  } else if (v.is(json::kind::number)) {
    out = number_text(v.number);
  } else if (v.is(json::kind::boolean)) {
    out = v.boolean ? "true" : "false";
  } else {
    return {errc::corrupt_data, std::string(field), static_cast<index_t>(line),
            "line " + std::to_string(line) + ": field `" + std::string(field) + "` must be a string or a number"};
  }
  return {};
}

}  // namespace completions_detail

class completions_scorer {
 public:
  explicit completions_scorer(completions_config config) : cfg_(std::move(config)) {}

  [[nodiscard]] const completions_config& config() const { return cfg_; }

  /// A line of a gold file: {id_field: ..., answer_field: ...} (the config's names when empty).
  /// Records without an inline answer take theirs from here, by id.
  status add_gold_line(std::string_view line, std::uint64_t line_number, const std::string& id_field = {},
                       const std::string& answer_field = {}) {
    json::value rec;
    GRPO_TRY(parse_record(line, line_number, rec));
    std::string id, gold;
    GRPO_TRY(field_text(rec, id_field.empty() ? cfg_.id_field : id_field, line_number, id));
    GRPO_TRY(field_text(rec, answer_field.empty() ? cfg_.answer_field : answer_field, line_number, gold));
    gold_.insert_or_assign(std::move(id), completions_detail::gold_answer(gold));
    return {};
  }

  /// One line of the completions file. A blank line is ignored. With `skip_bad`, a bad line is
  /// counted (by reason) and ok is returned; otherwise its error is.
  status add_line(std::string_view line, std::uint64_t line_number) {
    ++lines_;
    if (trim(line).empty()) return {};
    const status s = add_record(line, line_number);
    if (s.ok() || !cfg_.skip_bad) return s;
    ++skipped_;
    ++skipped_by_reason_[s.detail().substr(s.detail().find(':') + 2)];
    return {};
  }

  /// A line longer than the reader's bound.
  status add_too_long_line(std::uint64_t line_number, std::size_t bound) {
    ++lines_;
    const status s{errc::out_of_range, "line", static_cast<index_t>(line_number),
                   "line " + std::to_string(line_number) + ": longer than the " + std::to_string(bound) +
                       "-byte bound (--max-line-bytes)"};
    if (!cfg_.skip_bad) return s;
    ++skipped_;
    ++skipped_by_reason_["longer than the line bound"];
    return {};
  }

  [[nodiscard]] const std::vector<problem_result>& problems() const { return problems_; }
  [[nodiscard]] std::uint64_t records() const { return records_; }

  /// The metrics over every problem and per subset.
  status summarize(completions_summary& out) const {
    completions_summary s;
    s.lines = lines_;
    s.records = records_;
    s.skipped = skipped_;
    s.skipped_by_reason = skipped_by_reason_;
    if (problems_.empty())
      return {errc::shape_mismatch, "records", -1,
              "no records were scored (" + std::to_string(lines_) + " lines, " + std::to_string(skipped_) + " of them bad and skipped)"};
    std::vector<const problem_result*> all;
    std::map<std::string, std::vector<const problem_result*>> by;
    for (const auto& p : problems_) {
      all.push_back(&p);
      if (!cfg_.by_field.empty()) by[p.subset].push_back(&p);
    }
    GRPO_TRY(summarize_subset("all", all, s.all));
    for (const auto& [name, members] : by) {
      subset_summary sub;
      GRPO_TRY(summarize_subset(name, members, sub));
      s.subsets.push_back(std::move(sub));
    }
    out = std::move(s);
    return {};
  }

  /// pass@k of one problem, or nullopt when it has fewer than k samples.
  static std::optional<double> problem_pass_at_k(const problem_result& p, index_t k) {
    if (p.n() < k) return std::nullopt;
    double v = 0;
    if (!pass_at_k(p.n(), p.c(), k, v).ok()) return std::nullopt;
    return v;
  }

  /// cons@k of one problem: whether the majority answer among its first k samples (all when k
  /// = 0) is correct. Tie rule: the answer seen first among the most frequent. No answered
  /// sample counts as wrong. nullopt when it has fewer than k samples.
  static std::optional<double> problem_cons_at_k(const problem_result& p, index_t k) {
    const index_t n = k == 0 ? p.n() : k;
    if (p.n() < n) return std::nullopt;
    std::vector<index_t> count(p.clusters.size(), 0);
    std::uint32_t best = problem_result::no_answer;
    for (index_t i = 0; i < n; ++i) {
      const auto c = p.cluster[static_cast<std::size_t>(i)];
      if (c == problem_result::no_answer) continue;
      ++count[c];
    }
    // the highest count; among equals, the cluster whose first sample came first. Clusters are
    // numbered in order of first appearance, so that is the lowest cluster number.
    for (std::uint32_t c = 0; c < count.size(); ++c)
      if (count[c] > 0 && (best == problem_result::no_answer || count[c] > count[best])) best = c;
    if (best == problem_result::no_answer) return 0.0;
    return p.cluster_correct[best] ? 1.0 : 0.0;
  }

  /// The majority answer of a problem over all its samples ("" when none answered).
  static std::string majority_answer(const problem_result& p) {
    std::vector<index_t> count(p.clusters.size(), 0);
    for (auto c : p.cluster)
      if (c != problem_result::no_answer) ++count[c];
    std::size_t best = count.size();
    for (std::size_t c = 0; c < count.size(); ++c)
      if (count[c] > 0 && (best == count.size() || count[c] > count[best])) best = c;
    return best == count.size() ? std::string() : p.clusters[best];
  }

 private:
  completions_config cfg_;
  std::unordered_map<std::string, std::string> gold_;
  std::unordered_map<std::string, std::size_t> index_of_;
  std::vector<problem_result> problems_;
  std::uint64_t lines_ = 0, records_ = 0, skipped_ = 0;
  std::map<std::string, std::uint64_t> skipped_by_reason_;

  static status line_error(std::uint64_t line, std::string field, std::string what) {
    return {errc::corrupt_data, field, static_cast<index_t>(line), "line " + std::to_string(line) + ": " + what};
  }

  static status parse_record(std::string_view line, std::uint64_t n, json::value& rec) {
    if (const auto bad = first_invalid_utf8(line); bad != std::string_view::npos)
      return line_error(n, "line", "invalid UTF-8 at byte " + std::to_string(bad + 1));
    const status s = json::parse(line, rec);
    if (!s.ok()) return line_error(n, "line", "not valid JSON (" + s.detail() + " at byte " + std::to_string(s.index() + 1) + ")");
    if (!rec.is(json::kind::object)) return line_error(n, "line", "a record must be a JSON object");
    return {};
  }

  static status field_text(const json::value& rec, const std::string& field, std::uint64_t n, std::string& out) {
    const json::value* v = rec.find(field);
    if (!v || v->is(json::kind::null)) return line_error(n, field, "missing field `" + field + "`");
    return completions_detail::scalar_text(*v, field, n, out);
  }

  // The completion texts of a record (views into `rec`).
  status completions_of(const json::value& rec, std::uint64_t n, std::vector<std::string_view>& out) const {
    const std::string& f = cfg_.completion_field;
    const json::value* v = rec.find(f);
    if (!v || v->is(json::kind::null)) return line_error(n, f, "missing field `" + f + "`");
    auto message_content = [&](const json::value& m) -> const json::value* {
      const json::value* c = m.find("content");
      return c && c->is(json::kind::string) ? c : nullptr;
    };
    const std::string type_error = "field `" + f + "` must be a string, a list of strings, or a chat (a list of {\"content\": ...} messages)";
    if (v->is(json::kind::string)) {
      out.push_back(v->text);
      return {};
    }
    if (!v->is(json::kind::array)) return line_error(n, f, type_error);
    if (v->items.empty()) return line_error(n, f, "field `" + f + "` is an empty list");
    const bool chat = v->items.front().is(json::kind::object);
    if (chat) {
      for (std::size_t i = 0; i < v->items.size(); ++i)
        if (!v->items[i].is(json::kind::object) || !message_content(v->items[i]))
          return line_error(n, f, "field `" + f + "`[" + std::to_string(i) + "]: a chat message needs a string \"content\"");
      out.push_back(message_content(v->items.back())->text);
      return {};
    }
    for (std::size_t i = 0; i < v->items.size(); ++i) {
      const auto& item = v->items[i];
      if (item.is(json::kind::string)) {
        out.push_back(item.text);
      } else if (item.is(json::kind::array) && !item.items.empty() && item.items.back().is(json::kind::object) &&
                 message_content(item.items.back())) {
        out.push_back(message_content(item.items.back())->text);  // a list of chats
      } else {
        return line_error(n, f, "field `" + f + "`[" + std::to_string(i) + "] is not a string");
      }
    }
    return {};
  }

  status add_record(std::string_view line, std::uint64_t n) {
    json::value rec;
    GRPO_TRY(parse_record(line, n, rec));
    std::vector<std::string_view> texts;
    GRPO_TRY(completions_of(rec, n, texts));
    std::string id;
    if (const json::value* v = rec.find(cfg_.id_field); v && !v->is(json::kind::null)) {
      GRPO_TRY(completions_detail::scalar_text(*v, cfg_.id_field, n, id));
    } else if (texts.size() > 1 || rec.find(cfg_.completion_field)->is(json::kind::array)) {
      id = "line " + std::to_string(n);  // a record holding all of its problem's samples
    } else {
      return line_error(n, cfg_.id_field,
                        "missing field `" + cfg_.id_field + "` (a record with one completion must name its problem; --id sets the field)");
    }
    std::string gold;
    if (const json::value* v = rec.find(cfg_.answer_field); v && !v->is(json::kind::null)) {
      GRPO_TRY(completions_detail::scalar_text(*v, cfg_.answer_field, n, gold));
      gold = completions_detail::gold_answer(gold);
    } else if (auto it = gold_.find(id); it != gold_.end()) {
      gold = it->second;
    } else {
      return line_error(n, cfg_.answer_field,
                        gold_.empty() ? "missing field `" + cfg_.answer_field + "`"
                                      : "missing field `" + cfg_.answer_field + "`, and id `" + id + "` is not in the gold file");
    }
    std::string subset;
    if (!cfg_.by_field.empty()) {
      const json::value* v = rec.find(cfg_.by_field);
      if (!v || v->is(json::kind::null)) return line_error(n, cfg_.by_field, "missing field `" + cfg_.by_field + "` (--by)");
      GRPO_TRY(completions_detail::scalar_text(*v, cfg_.by_field, n, subset));
    }
    auto [it, inserted] = index_of_.try_emplace(id, problems_.size());
    if (inserted) {
      problem_result p;
      p.id = id;
      p.gold = gold;
      p.subset = subset;
      p.first_line = n;
      problems_.push_back(std::move(p));
    } else {
      const auto& p = problems_[it->second];
      if (p.gold != gold)
        return line_error(n, cfg_.answer_field,
                          "field `" + cfg_.answer_field + "` of id `" + id + "` differs from line " + std::to_string(p.first_line) + "'s");
      if (p.subset != subset)
        return line_error(n, cfg_.by_field,
                          "field `" + cfg_.by_field + "` of id `" + id + "` differs from line " + std::to_string(p.first_line) + "'s");
    }
    problem_result& p = problems_[it->second];
    for (auto text : texts) score(p, text);
    ++records_;
    return {};
  }

  void score(problem_result& p, std::string_view completion) const {
    const auto answer = extract_answer(completion, cfg_.extract);
    if (!answer || answer->empty()) {
      p.correct.push_back(0);
      p.cluster.push_back(problem_result::no_answer);
      return;
    }
    std::string key = normalize_latex(*answer);
    if (key.empty()) {
      p.correct.push_back(0);
      p.cluster.push_back(problem_result::no_answer);
      return;
    }
    auto found = p.cluster_of_text.find(key);
    std::uint32_t c = problem_result::no_answer;
    if (found != p.cluster_of_text.end()) {
      c = found->second;
    } else {
      // an answer written differently from every one seen so far: does it equal one of them?
      if (p.clusters.size() < cfg_.max_clusters)
        for (std::uint32_t k = 0; k < p.clusters.size() && c == problem_result::no_answer; ++k)
          if (equivalent(p.clusters[k], key, cfg_.equivalence)) c = k;
      if (c == problem_result::no_answer) {
        c = static_cast<std::uint32_t>(p.clusters.size());
        p.clusters.push_back(key);
        p.cluster_correct.push_back(equivalent(p.gold, key, cfg_.equivalence) ? 1 : 0);
      }
      p.cluster_of_text.emplace(std::move(key), c);
    }
    p.cluster.push_back(c);
    p.correct.push_back(p.cluster_correct[c]);
  }

  status metric(const std::string& name, const std::vector<const problem_result*>& ps,
                const std::function<std::optional<double>(const problem_result&)>& per_problem, index_t k,
                metric_summary& out) const {
    out = {};
    out.name = name;
    std::vector<double> values;
    for (const auto* p : ps) {
      if (auto v = per_problem(*p)) {
        values.push_back(*v);
      } else if (cfg_.allow_missing) {
        ++out.missing;
      } else {
        return {errc::out_of_range, "k", static_cast<index_t>(p->first_line),
                "problem `" + p->id + "` (line " + std::to_string(p->first_line) + ") has n = " + std::to_string(p->n()) +
                    " samples, fewer than k = " + std::to_string(k) + "; " + name +
                    " needs k <= n (sample more, or --allow-missing to leave such problems out of " + name + ")"};
      }
    }
    out.problems = static_cast<index_t>(values.size());
    if (values.empty()) {
      out.value = std::nan("");
      out.ci = {out.value, out.value, out.value};
      return {};
    }
    double sum = 0;
    for (double v : values) sum += v;
    out.value = sum / static_cast<double>(values.size());
    out.ci = {out.value, out.value, out.value};
    if (cfg_.bootstrap >= 2) GRPO_TRY(bootstrap_mean_ci(values, cfg_.bootstrap, cfg_.level, cfg_.seed, out.ci));
    return {};
  }

  status summarize_subset(const std::string& name, const std::vector<const problem_result*>& ps,
                          subset_summary& out) const {
    out = {};
    out.name = name;
    out.problems = static_cast<index_t>(ps.size());
    for (const auto* p : ps) out.samples += p->n();
    metric_summary m;
    GRPO_TRY(metric("pass@1", ps, [](const problem_result& p) -> std::optional<double> {
      return static_cast<double>(p.c()) / static_cast<double>(p.n());
    }, 1, m));
    out.metrics.push_back(m);
    for (index_t k : cfg_.pass_k) {
      if (k == 1) continue;
      GRPO_TRY(metric("pass@" + std::to_string(k), ps, [k](const problem_result& p) { return problem_pass_at_k(p, k); }, k, m));
      out.metrics.push_back(m);
    }
    for (index_t k : cfg_.cons_k) {
      GRPO_TRY(metric(k == 0 ? "cons@n" : "cons@" + std::to_string(k), ps,
                      [k](const problem_result& p) { return problem_cons_at_k(p, k); }, k, m));
      out.metrics.push_back(m);
    }
    GRPO_TRY(metric("answered", ps, [](const problem_result& p) -> std::optional<double> {
      index_t a = 0;
      for (auto c : p.cluster) a += c != problem_result::no_answer;
      return static_cast<double>(a) / static_cast<double>(p.n());
    }, 1, m));
    out.metrics.push_back(m);
    return {};
  }
};

}  // namespace grpo::eval

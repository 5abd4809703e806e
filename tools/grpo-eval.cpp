// grpo-eval: score a JSON Lines file of completions the way DeepSeek-R1 reports results
// (pass@1 over k samples, pass@k, cons@k), with math answer equivalence. docs/eval.md.
//
//   grpo-eval completions.jsonl
//   grpo-eval --k 1,8 --cons 64 --by level --json summary.json --csv problems.csv runs.jsonl
//   grpo-eval --gold gold.jsonl --completion response generations.jsonl
#include <grpo/eval/completions.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

using grpo::eval::completions_config;
using grpo::eval::completions_scorer;
using grpo::eval::completions_summary;

constexpr const char* usage_text = R"(usage: grpo-eval [options] FILE.jsonl      (FILE "-" reads standard input)

Scores model completions against gold answers: pass@1 over the k samples of each problem
(DeepSeek-R1's metric), unbiased pass@k, cons@k (majority vote), bootstrap intervals.

Records (one JSON object per line):
  {"id": "p1", "answer": "\\frac12", "completion": "... \\boxed{0.5}"}        one sample a line
  {"id": "p1", "answer": "3", "completion": ["...", "..."]}                   several samples
  {"answer": "3", "completion": [{"role": "assistant", "content": "..."}]}     a chat
Lines of the same id add samples to one problem (in any order). A gold answer that is a worked
solution is read at its last \boxed{} (MATH) or after "####" (GSM8K).

Fields:
  --id NAME            problem id field (default id; a record with a list of completions and
                       no id is its own problem)
  --completion NAME    completion field (default completion)
  --answer NAME        gold answer field (default answer)
  --gold FILE          gold answers from a second JSONL of {id, answer} (same field names, or
                       --gold-id / --gold-answer)
  --by NAME            also break the metrics down by this field (e.g. level, subject)

Answers:
  --extract MODE       r1 (default): the <answer> block, or the last \boxed{} inside it, else the
                       last \boxed{}/\fbox{} of the completion; answer: the <answer> block only;
                       boxed: the last \boxed{} only; last-number: the last number in the text
  --percent MODE       50\% against a reference: drop (default: 50\% = 50), fraction (= 0.5), either
  --degrees MODE       30^\circ: drop (default: = 30), radians (= \pi/6), either
  --keep-units         do not drop units after a number (5\text{ cm} != 5)
  --case-sensitive     text answers compare with case

Metrics:
  --k LIST             pass@k for each k (default 1), e.g. 1,8,64
  --cons LIST          cons@k for each k over the first k samples; n = all samples (default n)
  --allow-missing      leave problems with fewer than k samples out of pass@k / cons@k (they are
                       counted) instead of stopping with an error
  --bootstrap B        bootstrap resamples over problems for the intervals (default 1000; 0 = none)
  --level L            interval level (default 0.95)
  --seed S             bootstrap seed (default 0)

Output:
  --json FILE          the summary as JSON
  --csv FILE           one row per problem: id, subset, n, c, majority answer, each metric
  --progress / --no-progress   a progress bar on standard error (default: when it is a terminal)
  --skip-bad           count and skip bad lines (reported by reason) instead of stopping
  --max-line-bytes N   longest line read (default 268435456); longer lines are bad lines
  --help, --version
Exit status: 0 scored, 1 bad input, 2 bad usage.
)";

struct options {
  completions_config cfg;
  std::string input;
  std::string gold_file, gold_id, gold_answer;
  std::string json_out, csv_out;
  int progress = -1;  // -1: when stderr is a terminal
  std::size_t max_line_bytes = std::size_t(256) << 20;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "grpo-eval: %s\n(grpo-eval --help for the options)\n", what.c_str());
  std::exit(2);
}

std::vector<grpo::index_t> parse_list(const std::string& flag, const std::string& text, bool allow_n) {
  std::vector<grpo::index_t> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    const auto comma = text.find(',', from);
    const std::string item = text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (allow_n && item == "n") {
      out.push_back(0);
    } else {
      char* end = nullptr;
      const long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < 1 || v > 1000000000)
        usage_error(flag + ": `" + item + "` is not a positive integer" + (allow_n ? " or n" : ""));
      out.push_back(static_cast<grpo::index_t>(v));
    }
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return out;
}

options parse_args(int argc, char** argv) {
  options o;
  auto value = [&](int& i, const char* flag) -> std::string {
    if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    } else if (a == "--version") {
      std::puts("grpo-eval 0.1.0");
      std::exit(0);
    } else if (a == "--id") {
      o.cfg.id_field = value(i, "--id");
    } else if (a == "--completion") {
      o.cfg.completion_field = value(i, "--completion");
    } else if (a == "--answer") {
      o.cfg.answer_field = value(i, "--answer");
    } else if (a == "--gold") {
      o.gold_file = value(i, "--gold");
    } else if (a == "--gold-id") {
      o.gold_id = value(i, "--gold-id");
    } else if (a == "--gold-answer") {
      o.gold_answer = value(i, "--gold-answer");
    } else if (a == "--by") {
      o.cfg.by_field = value(i, "--by");
    } else if (a == "--extract") {
      const auto m = value(i, "--extract");
      using grpo::eval::extraction;
      if (m == "r1") o.cfg.extract = extraction::answer_block_then_boxed;
      else if (m == "answer") o.cfg.extract = extraction::answer_block;
      else if (m == "boxed") o.cfg.extract = extraction::boxed;
      else if (m == "last-number") o.cfg.extract = extraction::last_number;
      else usage_error("--extract: `" + m + "` is not one of r1, answer, boxed, last-number");
    } else if (a == "--percent") {
      const auto m = value(i, "--percent");
      using grpo::eval::percent_reading;
      if (m == "drop") o.cfg.equivalence.percent = percent_reading::drop;
      else if (m == "fraction") o.cfg.equivalence.percent = percent_reading::fraction;
      else if (m == "either") o.cfg.equivalence.percent = percent_reading::either;
      else usage_error("--percent: `" + m + "` is not one of drop, fraction, either");
    } else if (a == "--degrees") {
      const auto m = value(i, "--degrees");
      using grpo::eval::degree_reading;
      if (m == "drop") o.cfg.equivalence.degrees = degree_reading::drop;
      else if (m == "radians") o.cfg.equivalence.degrees = degree_reading::radians;
      else if (m == "either") o.cfg.equivalence.degrees = degree_reading::either;
      else usage_error("--degrees: `" + m + "` is not one of drop, radians, either");
    } else if (a == "--keep-units") {
      o.cfg.equivalence.drop_units = false;
    } else if (a == "--case-sensitive") {
      o.cfg.equivalence.text_case_sensitive = true;
    } else if (a == "--k") {
      o.cfg.pass_k = parse_list("--k", value(i, "--k"), false);
    } else if (a == "--cons") {
      o.cfg.cons_k = parse_list("--cons", value(i, "--cons"), true);
    } else if (a == "--allow-missing") {
      o.cfg.allow_missing = true;
    } else if (a == "--bootstrap") {
      const std::string v = value(i, "--bootstrap");
      o.cfg.bootstrap = v == "0" ? 0 : parse_list("--bootstrap", v, false)[0];
    } else if (a == "--level") {
      const std::string v = value(i, "--level");
      char* end = nullptr;
      o.cfg.level = std::strtod(v.c_str(), &end);
      if (*end != '\0' || !(o.cfg.level > 0 && o.cfg.level < 1)) usage_error("--level: need 0 < L < 1, got `" + v + "`");
    } else if (a == "--seed") {
      const std::string v = value(i, "--seed");
      char* end = nullptr;
      o.cfg.seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') usage_error("--seed: `" + v + "` is not a non-negative integer");
    } else if (a == "--json") {
      o.json_out = value(i, "--json");
    } else if (a == "--csv") {
      o.csv_out = value(i, "--csv");
    } else if (a == "--progress") {
      o.progress = 1;
    } else if (a == "--no-progress") {
      o.progress = 0;
    } else if (a == "--skip-bad") {
      o.cfg.skip_bad = true;
    } else if (a == "--max-line-bytes") {
      o.max_line_bytes = static_cast<std::size_t>(parse_list("--max-line-bytes", value(i, "--max-line-bytes"), false)[0]);
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      usage_error("unknown option `" + a + "`");
    } else if (o.input.empty()) {
      o.input = a;
    } else {
      usage_error("one input file, got `" + o.input + "` and `" + a + "`");
    }
  }
  if (o.input.empty()) usage_error("no input file");
  return o;
}

// A progress bar on stderr, redrawn at most every 0.2 s: bytes, records/s, ETA.
class progress_bar {
 public:
  progress_bar(bool on, std::uint64_t total) : on_(on), total_(total), start_(clock::now()), last_(start_) {}
  void update(std::uint64_t bytes, std::uint64_t records, bool final = false) {
    if (!on_) return;
    const auto now = clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(records) / secs : 0;
    if (total_ > 0) {
      const double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
      const int width = 30, filled = static_cast<int>(frac * width);
      const double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
      std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %llu records  %.0f/s  ETA %.0f s ", filled,
                   "##############################", width - filled, "", 100 * frac,
                   static_cast<unsigned long long>(records), rate, eta);
    } else {
      std::fprintf(stderr, "\r%llu records  %.0f/s ", static_cast<unsigned long long>(records), rate);
    }
    if (final) std::fputc('\n', stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  bool on_;
  std::uint64_t total_;
  clock::time_point start_, last_;
};

[[noreturn]] void input_error(const std::string& file, const grpo::status& s) {
  std::fprintf(stderr, "grpo-eval: %s: %s\n", file.c_str(), s.detail().c_str());
  std::exit(1);
}

std::string json_string(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (c == '\n') o += "\\n";
    else if (c == '\t') o += "\\t";
    else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      o += buf;
    } else o += c;
  }
  return o + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string subset_json(const grpo::eval::subset_summary& s) {
  std::string o = "{\"name\": " + json_string(s.name) + ", \"problems\": " + std::to_string(s.problems) +
                  ", \"samples\": " + std::to_string(s.samples) + ", \"metrics\": {";
  for (std::size_t i = 0; i < s.metrics.size(); ++i) {
    const auto& m = s.metrics[i];
    o += (i ? ", " : "") + json_string(m.name) + ": {\"value\": " + json_number(m.value) + ", \"lower\": " +
         json_number(m.ci.lower) + ", \"upper\": " + json_number(m.ci.upper) + ", \"problems\": " +
         std::to_string(m.problems) + ", \"missing\": " + std::to_string(m.missing) + "}";
  }
  return o + "}}";
}

void print_table(const completions_summary& s, const options& o) {
  std::printf("%llu records, %lld problems, %lld samples", static_cast<unsigned long long>(s.records),
              static_cast<long long>(s.all.problems), static_cast<long long>(s.all.samples));
  if (s.skipped) std::printf(", %llu bad lines skipped", static_cast<unsigned long long>(s.skipped));
  std::printf("\n");
  for (const auto& [why, count] : s.skipped_by_reason)
    std::printf("  skipped %llu: %s\n", static_cast<unsigned long long>(count), why.c_str());
  const bool ci = o.cfg.bootstrap >= 2;
  std::printf("\n%-10s %9s", "metric", "value");
  if (ci) std::printf("   %2.0f%% interval       ", 100 * o.cfg.level);
  std::printf(" %9s\n", "problems");
  for (const auto& m : s.all.metrics) {
    std::printf("%-10s %9.4f", m.name.c_str(), m.value);
    if (ci) std::printf("   [%.4f, %.4f]  ", m.ci.lower, m.ci.upper);
    std::printf(" %9lld", static_cast<long long>(m.problems));
    if (m.missing) std::printf("  (%lld with n < k left out)", static_cast<long long>(m.missing));
    std::printf("\n");
  }
  if (s.subsets.empty()) return;
  std::printf("\nby %s:\n%-16s %9s", o.cfg.by_field.c_str(), o.cfg.by_field.c_str(), "problems");
  for (const auto& m : s.all.metrics) std::printf(" %9s", m.name.c_str());
  std::printf("\n");
  for (const auto& sub : s.subsets) {
    std::printf("%-16s %9lld", sub.name.c_str(), static_cast<long long>(sub.problems));
    for (const auto& m : sub.metrics) std::printf(" %9.4f", m.value);
    std::printf("\n");
  }
}

void read_file(const std::string& path, bool progress, std::size_t max_line_bytes,
               const std::function<grpo::status(std::string_view, std::uint64_t)>& on_line,
               const std::function<grpo::status(std::uint64_t)>& on_too_long, const std::function<std::uint64_t()>& records) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "grpo-eval: %s: cannot open (%s)\n", path.c_str(), std::strerror(errno));
    std::exit(1);
  }
  std::uint64_t total = 0;
  if (f != stdin && std::fseek(f, 0, SEEK_END) == 0) {
    const long size = std::ftell(f);
    total = size > 0 ? static_cast<std::uint64_t>(size) : 0;
    std::rewind(f);
  }
  progress_bar bar(progress, total);
  grpo::eval::line_reader reader(f, max_line_bytes);
  std::string line;
  while (true) {
    const auto r = reader.next(line);
    if (r == grpo::eval::line_reader::result::end) break;
    const grpo::status s = r == grpo::eval::line_reader::result::too_long ? on_too_long(reader.line_number())
                                                                           : on_line(line, reader.line_number());
    if (!s.ok()) {
      if (progress) std::fputc('\n', stderr);
      input_error(path, s);
    }
    bar.update(reader.bytes_read(), records());
  }
  if (reader.error()) {
    std::fprintf(stderr, "grpo-eval: %s: read error\n", path.c_str());
    std::exit(1);
  }
  bar.update(reader.bytes_read(), records(), true);
  if (f != stdin) std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse_args(argc, argv);
  const bool progress = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO));
  completions_scorer scorer(o.cfg);
  if (!o.gold_file.empty()) {
    completions_config gold_cfg = o.cfg;
    if (!o.gold_id.empty()) gold_cfg.id_field = o.gold_id;
    if (!o.gold_answer.empty()) gold_cfg.answer_field = o.gold_answer;
    std::uint64_t golds = 0;
    read_file(o.gold_file, false, o.max_line_bytes,
              [&](std::string_view line, std::uint64_t n) -> grpo::status {
                if (grpo::eval::trim(line).empty()) return {};
                ++golds;
                return scorer.add_gold_line(line, n, gold_cfg.id_field, gold_cfg.answer_field);
              },
              [&](std::uint64_t n) { return grpo::status{grpo::errc::out_of_range, "line", static_cast<grpo::index_t>(n),
                                                         "line " + std::to_string(n) + ": longer than --max-line-bytes"}; },
              [&] { return golds; });
  }
  read_file(o.input, progress, o.max_line_bytes,
            [&](std::string_view line, std::uint64_t n) { return scorer.add_line(line, n); },
            [&](std::uint64_t n) { return scorer.add_too_long_line(n, o.max_line_bytes); },
            [&] { return scorer.records(); });
  completions_summary summary;
  if (const auto s = scorer.summarize(summary); !s.ok()) input_error(o.input, s);
  print_table(summary, o);
  if (!o.json_out.empty()) {
    std::FILE* f = std::fopen(o.json_out.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "grpo-eval: %s: cannot write (%s)\n", o.json_out.c_str(), std::strerror(errno));
      return 1;
    }
    std::string j = "{\"input\": " + json_string(o.input) + ", \"lines\": " + std::to_string(summary.lines) +
                    ", \"records\": " + std::to_string(summary.records) + ", \"skipped\": " +
                    std::to_string(summary.skipped) + ", \"skipped_by_reason\": {";
    bool first = true;
    for (const auto& [why, count] : summary.skipped_by_reason) {
      j += (first ? "" : ", ") + json_string(why) + ": " + std::to_string(count);
      first = false;
    }
    auto mode = [](auto v, std::initializer_list<const char*> names) {
      return json_string(*(names.begin() + static_cast<int>(v)));
    };
    j += "}, \"options\": {\"extract\": " +
         mode(o.cfg.extract, {"answer", "boxed", "r1", "last-number"}) +
         ", \"percent\": " + mode(o.cfg.equivalence.percent, {"drop", "fraction", "either"}) +
         ", \"degrees\": " + mode(o.cfg.equivalence.degrees, {"drop", "radians", "either"}) +
         ", \"drop_units\": " + (o.cfg.equivalence.drop_units ? "true" : "false") +
         ", \"case_sensitive\": " + (o.cfg.equivalence.text_case_sensitive ? "true" : "false") +
         ", \"allow_missing\": " + (o.cfg.allow_missing ? "true" : "false") + ", \"seed\": " +
         std::to_string(o.cfg.seed) + "}";
    j += ", \"bootstrap\": " + std::to_string(o.cfg.bootstrap) + ", \"level\": " + json_number(o.cfg.level) +
         ", \"all\": " + subset_json(summary.all) + ", \"by\": " + json_string(o.cfg.by_field) + ", \"subsets\": [";
    for (std::size_t i = 0; i < summary.subsets.size(); ++i) j += (i ? ", " : "") + subset_json(summary.subsets[i]);
    j += "]}\n";
    std::fputs(j.c_str(), f);
    if (std::fclose(f) != 0) return 1;
  }
  if (!o.csv_out.empty()) {
    std::FILE* f = std::fopen(o.csv_out.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "grpo-eval: %s: cannot write (%s)\n", o.csv_out.c_str(), std::strerror(errno));
      return 1;
    }
    std::string head = "id,subset,n,c,majority_answer,pass@1";
    for (auto k : o.cfg.pass_k)
      if (k != 1) head += ",pass@" + std::to_string(k);
    for (auto k : o.cfg.cons_k) head += k == 0 ? std::string(",cons@n") : ",cons@" + std::to_string(k);
    std::fprintf(f, "%s\n", head.c_str());
    for (const auto& p : scorer.problems()) {
      std::string row = csv_field(p.id) + "," + csv_field(p.subset) + "," + std::to_string(p.n()) + "," +
                        std::to_string(p.c()) + "," + csv_field(completions_scorer::majority_answer(p)) + "," +
                        json_number(static_cast<double>(p.c()) / static_cast<double>(p.n()));
      for (auto k : o.cfg.pass_k) {
        if (k == 1) continue;
        const auto v = completions_scorer::problem_pass_at_k(p, k);
        row += ',';
        if (v) row += json_number(*v);
      }
      for (auto k : o.cfg.cons_k) {
        const auto v = completions_scorer::problem_cons_at_k(p, k);
        row += ',';
        if (v) row += json_number(*v);
      }
      std::fprintf(f, "%s\n", row.c_str());
    }
    if (std::fclose(f) != 0) return 1;
  }
  return 0;
}

// grpo-eval's library (grpo/eval/completions.hpp, jsonl.hpp): records to per-problem verdicts to
// metrics, checked against exact combinatorics and a plain majority count written here; every
// bad-input case names its line and field, or is counted with skip_bad.
#include "reference.hpp"

#include <catch2/catch.hpp>
#include <grpo/eval/completions.hpp>
#include <grpo/task/random.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

using grpo::eval::completions_config;
using grpo::eval::completions_scorer;
using grpo::eval::completions_summary;

namespace {

std::string record(const std::string& id, const std::string& answer, const std::string& completion) {
  return "{\"id\": \"" + id + "\", \"answer\": \"" + answer + "\", \"completion\": \"" + completion + "\"}";
}

const grpo::eval::metric_summary& metric(const grpo::eval::subset_summary& s, const std::string& name) {
  for (const auto& m : s.metrics)
    if (m.name == name) return m;
  FAIL("no metric " << name);
  return s.metrics.front();
}

}  // namespace

TEST_CASE("completions: pass@k and cons@k against exact combinatorics", "[eval][completions]") {
  grpo::task::splitmix64 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    completions_config cfg;
    cfg.pass_k = {1, 2, 3};
    cfg.cons_k = {0, 3};
    cfg.bootstrap = 0;
    completions_scorer scorer(cfg);
    const int problems = 1 + static_cast<int>(rng.below(12));
    std::vector<std::string> lines;
    struct truth {
      int n = 0, c = 0;
      std::vector<int> labels;  // per sample: the answer written (gold = 7), -1 = none
    };
    std::map<std::string, truth> expect;
    for (int p = 0; p < problems; ++p) {
      const std::string id = "q" + std::to_string(p);
      const int n = 3 + static_cast<int>(rng.below(6));
      for (int i = 0; i < n; ++i) {
        const auto r = rng.below(5);
        const int label = r == 0 ? -1 : r <= 2 ? 7 : static_cast<int>(rng.below(3));
        auto& t = expect[id];
        ++t.n;
        t.c += label == 7;
        t.labels.push_back(label);
        // the gold is written as a fraction and the right answers as decimals or fractions, so
        // correctness and the vote both need equivalence, not text
        const std::string written = label == 7 ? (i % 2 ? "7.0" : "\\\\frac{14}{2}") : std::to_string(label);
        lines.push_back(record(id, "\\\\frac{7}{1}", label < 0 ? "no answer here" : "so \\\\boxed{" + written + "}"));
      }
    }
    // records of a problem need not be contiguous
    for (std::size_t i = lines.size(); i > 1; --i) std::swap(lines[i - 1], lines[rng.below(i)]);
    // ... but the order of a problem's samples is what cons@3 reads: rebuild the truth in file order
    expect.clear();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      REQUIRE(scorer.add_line(lines[i], i + 1).ok());
      const auto id = lines[i].substr(8, lines[i].find('"', 8) - 8);
      auto& t = expect[id];
      const bool none = lines[i].find("no answer") != std::string::npos;
      const bool right = lines[i].find("7.0") != std::string::npos || lines[i].find("{14}") != std::string::npos;
      const int label = none ? -1 : right ? 7 : lines[i][lines[i].find("boxed{") + 6] - '0';
      ++t.n;
      t.c += label == 7;
      t.labels.push_back(label);
    }
    completions_summary s;
    REQUIRE(scorer.summarize(s).ok());
    REQUIRE(s.all.problems == problems);
    double pass1 = 0, pass2 = 0, pass3 = 0, consn = 0, cons3 = 0;
    auto majority_right = [](const std::vector<int>& labels, std::size_t k) {
      std::map<int, int> count, first;
      for (std::size_t i = 0; i < k; ++i)
        if (labels[i] >= 0) ++count[labels[i]], first.try_emplace(labels[i], static_cast<int>(i));
      int best = -1;
      for (const auto& [label, c] : count)
        if (best < 0 || c > count[best] || (c == count[best] && first[label] < first[best])) best = label;
      return best == 7 ? 1.0 : 0.0;
    };
    for (const auto& [id, t] : expect) {
      pass1 += double(t.c) / t.n;
      pass2 += grpo_test::pass_at_k_by_subsets(t.n, t.c, 2);
      pass3 += grpo_test::pass_at_k_by_subsets(t.n, t.c, 3);
      consn += majority_right(t.labels, t.labels.size());
      cons3 += majority_right(t.labels, 3);
    }
    const double P = problems;
    CHECK(metric(s.all, "pass@1").value == Approx(pass1 / P).epsilon(1e-12));
    CHECK(metric(s.all, "pass@2").value == Approx(pass2 / P).epsilon(1e-12));
    CHECK(metric(s.all, "pass@3").value == Approx(pass3 / P).epsilon(1e-12));
    CHECK(metric(s.all, "cons@n").value == Approx(consn / P).epsilon(1e-12));
    CHECK(metric(s.all, "cons@3").value == Approx(cons3 / P).epsilon(1e-12));
  }
}

TEST_CASE("completions: record shapes, gold files, worked solutions, subsets", "[eval][completions]") {
  completions_config cfg;
  cfg.by_field = "level";
  cfg.bootstrap = 0;
  completions_scorer s(cfg);
  // a list of completions without an id: the record is its own problem
  REQUIRE(s.add_line(R"({"answer": "The total is \\boxed{8000}.", "level": 1, "completion": ["\\boxed{8,000}", "\\boxed{800}"]})", 1).ok());
  // a chat: the last message is the completion; a numeric id and gold
  REQUIRE(s.add_line(R"({"id": 5, "answer": 42, "level": 2, "completion": [{"role": "user", "content": "\\boxed{1}"}, {"role": "assistant", "content": "<answer>42</answer>"}]})", 2).ok());
  // GSM8K's worked solution: the answer after ####
  REQUIRE(s.add_line(R"({"id": "g", "answer": "3 + 4 = 7\n#### 7", "level": 2, "completion": "\\boxed{7}"})", 3).ok());
  REQUIRE(s.add_line("", 4).ok());  // blank lines are ignored
  completions_summary sum;
  REQUIRE(s.summarize(sum).ok());
  CHECK(sum.records == 3);
  CHECK(sum.lines == 4);
  CHECK(sum.all.problems == 3);
  CHECK(metric(sum.all, "pass@1").value == Approx((0.5 + 1 + 1) / 3));
  REQUIRE(sum.subsets.size() == 2);
  CHECK(sum.subsets[0].name == "1");
  CHECK(metric(sum.subsets[0], "pass@1").value == Approx(0.5));
  CHECK(metric(sum.subsets[1], "pass@1").value == Approx(1.0));

  // gold answers from a second file, keyed by id
  completions_config g;
  g.bootstrap = 0;
  completions_scorer with_gold(g);
  REQUIRE(with_gold.add_gold_line(R"({"problem": "p1", "solution": "so \\boxed{\\frac{1}{2}}"})", 1, "problem", "solution").ok());
  REQUIRE(with_gold.add_line(R"({"id": "p1", "completion": "\\boxed{0.5}"})", 1).ok());
  const auto missing = with_gold.add_line(R"({"id": "p2", "completion": "\\boxed{0.5}"})", 2);
  CHECK(missing.detail() == "line 2: missing field `answer`, and id `p2` is not in the gold file");
  REQUIRE(with_gold.summarize(sum).ok());
  CHECK(metric(sum.all, "pass@1").value == 1.0);
}

TEST_CASE("completions: bad input names the line and the field", "[eval][completions][errors]") {
  completions_config cfg;
  cfg.by_field = "level";
  auto error_of = [&](const std::string& line) {
    completions_scorer s(cfg);
    REQUIRE(s.add_line(R"({"id": "a", "answer": "1", "level": 1, "completion": "x"})", 1).ok());
    return s.add_line(line, 2).detail();
  };
  CHECK(error_of(R"({"id": "a", "answer": "1", "level": 1, "completion": "x")") ==
        "line 2: not valid JSON (expected ',' or '}' at byte 57)");  // the end of the 56-byte line
  CHECK(error_of(R"([1, 2])") == "line 2: a record must be a JSON object");
  CHECK(error_of(R"({"id": "a", "answer": "1", "level": 1})") == "line 2: missing field `completion`");
  CHECK(error_of(R"({"answer": "1", "level": 1, "completion": "x"})") ==
        "line 2: missing field `id` (a record with one completion must name its problem; --id sets the field)");
  CHECK(error_of(R"({"id": "b", "level": 1, "completion": "x"})") == "line 2: missing field `answer`");
  CHECK(error_of(R"({"id": "b", "answer": "1", "completion": "x"})") == "line 2: missing field `level` (--by)");
  CHECK(error_of(R"({"id": "b", "answer": [1], "level": 1, "completion": "x"})") ==
        "line 2: field `answer` must be a string or a number");
  CHECK(error_of(R"({"id": "b", "answer": "1", "level": 1, "completion": 3})") ==
        "line 2: field `completion` must be a string, a list of strings, or a chat (a list of {\"content\": ...} messages)");
  CHECK(error_of(R"({"id": "b", "answer": "1", "level": 1, "completion": []})") == "line 2: field `completion` is an empty list");
  CHECK(error_of(R"({"id": "b", "answer": "1", "level": 1, "completion": ["x", 2]})") ==
        "line 2: field `completion`[1] is not a string");
  CHECK(error_of(R"({"id": "b", "answer": "1", "level": 1, "completion": [{"role": "user"}]})") ==
        "line 2: field `completion`[0]: a chat message needs a string \"content\"");
  CHECK(error_of(R"({"id": "a", "answer": "2", "level": 1, "completion": "x"})") ==
        "line 2: field `answer` of id `a` differs from line 1's");
  CHECK(error_of(R"({"id": "a", "answer": "1", "level": 3, "completion": "x"})") ==
        "line 2: field `level` of id `a` differs from line 1's");
  CHECK(error_of("{\"id\": \"b\", \"answer\": \"1\", \"level\": 1, \"completion\": \"\xC3\x28\"}") ==
        "line 2: invalid UTF-8 at byte 55");
  CHECK(error_of(std::string(300, '[') + std::string(300, ']')).find("line 2: not valid JSON (nested deeper than 256") == 0);

  // k > n: refused with the problem named, or left out and counted with allow_missing
  completions_config k;
  k.pass_k = {1, 4};
  k.bootstrap = 0;
  completions_scorer few(k);
  REQUIRE(few.add_line(record("a", "1", "\\\\boxed{1}"), 1).ok());
  REQUIRE(few.add_line(R"({"id": "b", "answer": "1", "completion": ["\\boxed{1}", "x", "x", "x"]})", 2).ok());
  completions_summary s;
  const auto refused = few.summarize(s);
  CHECK(refused.detail() ==
        "problem `a` (line 1) has n = 1 samples, fewer than k = 4; pass@4 needs k <= n (sample more, or --allow-missing to leave such problems out of pass@4)");
  k.allow_missing = true;
  completions_scorer lenient(k);
  REQUIRE(lenient.add_line(record("a", "1", "\\\\boxed{1}"), 1).ok());
  REQUIRE(lenient.add_line(R"({"id": "b", "answer": "1", "completion": ["\\boxed{1}", "x", "x", "x"]})", 2).ok());
  REQUIRE(lenient.summarize(s).ok());
  CHECK(metric(s.all, "pass@4").problems == 1);
  CHECK(metric(s.all, "pass@4").missing == 1);
  CHECK(metric(s.all, "pass@4").value == 1.0);

  // no records at all
  completions_scorer empty(cfg);
  CHECK(empty.summarize(s).detail() == "no records were scored (0 lines, 0 of them bad and skipped)");
}

TEST_CASE("completions: skip_bad counts every bad line by reason", "[eval][completions][errors]") {
  completions_config cfg;
  cfg.skip_bad = true;
  cfg.bootstrap = 0;
  completions_scorer s(cfg);
  const std::vector<std::string> lines = {
      record("a", "1", "\\\\boxed{1}"), "{not json", "{\"id\": \"b\", \"answer\": \"1\"}", "\xff\xfe",
      record("a", "1", "\\\\boxed{2}"), "{\"id\": \"c\", \"answer\": \"1\"}"};
  for (std::size_t i = 0; i < lines.size(); ++i) REQUIRE(s.add_line(lines[i], i + 1).ok());
  REQUIRE(s.add_too_long_line(7, 100).ok());
  completions_summary sum;
  REQUIRE(s.summarize(sum).ok());
  CHECK(sum.records == 2);
  CHECK(sum.skipped == 5);
  CHECK(sum.lines == 7);
  CHECK(sum.skipped_by_reason.at("missing field `completion`") == 2);
  CHECK(sum.skipped_by_reason.at("invalid UTF-8 at byte 1") == 1);
  CHECK(sum.skipped_by_reason.at("longer than the line bound") == 1);
  CHECK(metric(sum.all, "pass@1").value == 0.5);
}

TEST_CASE("completions: huge completions and deep braces are scored, not crashed on", "[eval][completions][robust]") {
  completions_config cfg;
  cfg.bootstrap = 0;
  completions_scorer s(cfg);
  const std::string ten_mb(10u << 20, 'a');
  REQUIRE(s.add_line(record("a", "3", ten_mb + " \\\\boxed{3}"), 1).ok());
  const std::string deep = std::string(200000, '{') + "3" + std::string(200000, '}');
  REQUIRE(s.add_line(record("a", "3", "\\\\boxed{" + deep + "}"), 2).ok());
  REQUIRE(s.add_line(record("a", "3", "\\\\boxed{" + std::string(200000, '{')), 3).ok());  // never closed
  completions_summary sum;
  REQUIRE(s.summarize(sum).ok());
  CHECK(s.problems()[0].correct == std::vector<std::uint8_t>{1, 0, 0});
  CHECK(metric(sum.all, "answered").value == Approx(2.0 / 3));
}

TEST_CASE("line_reader: lines across buffer boundaries, CRLF, a missing final newline, the bound", "[eval][jsonl]") {
  std::string text;
  std::vector<std::string> want;
  for (int i = 0; i < 3000; ++i) {
    want.push_back(std::string(static_cast<std::size_t>(i % 97), 'x') + std::to_string(i));
    text += want.back() + (i % 5 == 0 ? "\r\n" : "\n");
  }
  want.push_back(std::string(200, 'y'));  // too long for the bound below
  text += want.back() + "\n";
  want.push_back("last");
  text += "last";  // no final newline
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  std::fwrite(text.data(), 1, text.size(), f);
  std::rewind(f);
  grpo::eval::line_reader r(f, 150);
  std::string line;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto got = r.next(line);
    INFO(i);
    if (want[i].size() > 150) {
      REQUIRE(got == grpo::eval::line_reader::result::too_long);
    } else {
      REQUIRE(got == grpo::eval::line_reader::result::line);
      REQUIRE(line == want[i]);
    }
    REQUIRE(r.line_number() == i + 1);
  }
  CHECK(r.next(line) == grpo::eval::line_reader::result::end);
  CHECK(r.bytes_read() == text.size());
  std::fclose(f);
}

TEST_CASE("first_invalid_utf8: RFC 3629's edge cases", "[eval][jsonl]") {
  using grpo::eval::first_invalid_utf8;
  constexpr auto ok = std::string_view::npos;
  CHECK(first_invalid_utf8("plain ascii") == ok);
  CHECK(first_invalid_utf8("\xC3\xA9t\xC3\xA9") == ok);                // é
  CHECK(first_invalid_utf8("\xE2\x88\x92") == ok);                     // U+2212
  CHECK(first_invalid_utf8("\xF0\x9F\x98\x80") == ok);                 // U+1F600
  CHECK(first_invalid_utf8("a\x80") == 1);                             // a lone continuation byte
  CHECK(first_invalid_utf8("\xC0\xAF") == 0);                          // overlong '/'
  CHECK(first_invalid_utf8("\xE0\x80\xAF") == 0);                      // overlong, 3 bytes
  CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);                      // a surrogate
  CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);                  // past U+10FFFF
  CHECK(first_invalid_utf8("ab\xE2\x88") == 2);                        // truncated
  CHECK(first_invalid_utf8("\xFF") == 0);
}

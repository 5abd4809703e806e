#pragma once
// What the trainer needs from a model, as C++20 concepts.
//
// A batch is N token sequences, each a prompt followed by a completion, packed end to end
// (no padding inside the model). Per-token outputs use the objective's padded layout:
// row-major [N, T] with T = out.size() / N >= the longest completion; entry (i, t) belongs to
// completion token t of sequence i, and padding entries are written as 0.
//
//   logp[i, t] = log softmax(z/τ)[o_{i,t}],  z = the model's logits given prompt_i + o_{i,<t}
//   H[i, t]    = entropy of softmax(z/τ)
//
// The operations:
//   p.logprobs(batch, tau, logp, entropy)    teacher-forced forward; entropy may be empty. It
//                                            keeps what `backward` needs (one batch at a time).
//   p.backward(batch, dlogp, dentropy)       for the batch of the LAST logprobs call: adds
//                                            ∂L/∂θ = Σ dlogp·∂logp/∂θ + Σ dentropy·∂H/∂θ to the
//                                            gradients (accumulates; dentropy may be empty).
//   p.zero_grad()
//   p.parameters(), p.gradients()            flat views of all parameters / their gradients
//                                            (same size and order): what optimisers, clipping
//                                            and checkpoints work on.
//   p.snapshot()                             an independent copy (the frozen reference model).
//   p.sample(prompts, G, cfg, rng, out)      G completions per prompt, with the per-token logp
//                                            of the sampling distribution (see sampler.hpp).
#include <grpo/core/error.hpp>
#include <grpo/model/sampler.hpp>

#include <algorithm>
#include <cstdint>
#include <concepts>
#include <span>
#include <string>
#include <vector>

namespace grpo::model {

/// A run of consecutive sequences (prompt + completion) packed end to end, not owning its
/// storage: what the models read. `offsets` are those of the owning buffer ([n + 1], sequence i
/// is tokens[offset(i), offset(i) + length(i)) with offset(i) = offsets[i] − offsets[0]), so a
/// run of rows of a batch is a view without a copy (`sequence_batch::rows`).
struct sequence_view {
  std::span<const token_t> tokens;          // the run's tokens back to back
  std::span<const index_t> offsets;         // [n + 1], increasing
  std::span<const index_t> prompt_lengths;  // [n]

  [[nodiscard]] index_t size() const { return static_cast<index_t>(prompt_lengths.size()); }
  [[nodiscard]] index_t num_tokens() const { return static_cast<index_t>(tokens.size()); }
  [[nodiscard]] index_t offset(index_t i) const { return offsets[i] - offsets[0]; }
  [[nodiscard]] index_t length(index_t i) const { return offsets[i + 1] - offsets[i]; }
  [[nodiscard]] index_t prompt_length(index_t i) const { return prompt_lengths[i]; }
  [[nodiscard]] index_t completion_length(index_t i) const { return length(i) - prompt_lengths[i]; }
  [[nodiscard]] const token_t* sequence(index_t i) const { return tokens.data() + offset(i); }
  [[nodiscard]] index_t max_completion_length() const {
    index_t m = 0;
    for (index_t i = 0; i < size(); ++i) m = std::max(m, completion_length(i));
    return m;
  }
  [[nodiscard]] index_t num_completion_tokens() const {
    index_t s = num_tokens();
    for (auto p : prompt_lengths) s -= p;
    return s;
  }
  /// Sequences [r0, r1) of this run.
  [[nodiscard]] sequence_view rows(index_t r0, index_t r1) const {
    const auto b = static_cast<std::size_t>(offset(r0)), e = static_cast<std::size_t>(offset(r1));
    return {tokens.subspan(b, e - b), offsets.subspan(static_cast<std::size_t>(r0), static_cast<std::size_t>(r1 - r0 + 1)),
            prompt_lengths.subspan(static_cast<std::size_t>(r0), static_cast<std::size_t>(r1 - r0))};
  }
};

/// N sequences (prompt + completion) packed end to end, owning its storage.
struct sequence_batch {
  std::vector<token_t> tokens;           // all sequences back to back
  std::vector<index_t> offsets{0};       // [N + 1]: sequence i is tokens[offsets[i], offsets[i+1])
  std::vector<index_t> prompt_lengths;   // [N]

  [[nodiscard]] sequence_view view() const { return {tokens, offsets, prompt_lengths}; }
  operator sequence_view() const { return view(); }  // NOLINT: a batch is read through its view
  [[nodiscard]] sequence_view rows(index_t r0, index_t r1) const { return view().rows(r0, r1); }

  [[nodiscard]] index_t size() const { return static_cast<index_t>(prompt_lengths.size()); }
  [[nodiscard]] index_t length(index_t i) const { return offsets[i + 1] - offsets[i]; }
  [[nodiscard]] index_t prompt_length(index_t i) const { return prompt_lengths[i]; }
  [[nodiscard]] index_t completion_length(index_t i) const { return length(i) - prompt_lengths[i]; }
  [[nodiscard]] const token_t* sequence(index_t i) const { return tokens.data() + offsets[i]; }
  [[nodiscard]] index_t max_completion_length() const { return view().max_completion_length(); }
  [[nodiscard]] index_t num_completion_tokens() const { return view().num_completion_tokens(); }

  void clear() {
    tokens.clear();
    offsets.assign(1, 0);
    prompt_lengths.clear();
  }
  void add(std::span<const token_t> prompt, std::span<const token_t> completion) {
    tokens.insert(tokens.end(), prompt.begin(), prompt.end());
    tokens.insert(tokens.end(), completion.begin(), completion.end());
    offsets.push_back(static_cast<index_t>(tokens.size()));
    prompt_lengths.push_back(static_cast<index_t>(prompt.size()));
  }
  /// Keeps the first n sequences (in place).
  void truncate(index_t n) {
    tokens.resize(static_cast<std::size_t>(offsets[n]));
    offsets.resize(static_cast<std::size_t>(n + 1));
    prompt_lengths.resize(static_cast<std::size_t>(n));
  }
};

/// Checks a batch against a model: well-formed offsets, every prompt has at least one token,
/// every token is in [0, vocab), no sequence is longer than `max_length` (0 = no limit).
inline status validate(sequence_view b, index_t vocab, index_t max_length = 0) {
  if (b.offsets.size() != b.prompt_lengths.size() + 1 ||
      b.offsets.back() - b.offsets.front() != static_cast<index_t>(b.tokens.size()))
    return {errc::shape_mismatch, "batch.offsets", -1,
            "need N + 1 offsets spanning the tokens (from 0 to tokens.size() for a whole batch)"};
  for (index_t i = 0; i < b.size(); ++i) {
    if (b.length(i) < 0) return {errc::bad_group, "batch.offsets", i + 1, "offsets decrease"};
    if (b.prompt_lengths[i] < 1 || b.prompt_lengths[i] > b.length(i))
      return {errc::out_of_range, "batch.prompt_lengths", i,
              "prompt length " + std::to_string(b.prompt_lengths[i]) +
                  " must be in [1, sequence length " + std::to_string(b.length(i)) + "]"};
    if (max_length > 0 && b.length(i) > max_length)
      return {errc::out_of_range, "batch.tokens", i,
              "sequence length " + std::to_string(b.length(i)) + " exceeds the context " +
                  std::to_string(max_length)};
  }
  for (size_t k = 0; k < b.tokens.size(); ++k)
    if (b.tokens[k] < 0 || b.tokens[k] >= vocab)
      return {errc::out_of_range, "batch.tokens", static_cast<index_t>(k),
              "token " + std::to_string(b.tokens[k]) + " outside the vocabulary [0, " +
                  std::to_string(vocab) + ")"};
  return {};
}
inline status validate(const sequence_batch& b, index_t vocab, index_t max_length = 0) {
  if (b.offsets.empty() || b.offsets.front() != 0)
    return {errc::shape_mismatch, "batch.offsets", -1, "a batch's offsets start at 0"};
  return validate(b.view(), vocab, max_length);
}

/// Checks that a per-token buffer has the [N, T] layout with T >= the longest completion and
/// returns T through `width`. An empty buffer is allowed when `optional`.
template <class S>
inline status token_buffer_width(sequence_view b, std::span<S> buf, const char* name,
                                  bool optional, index_t& width) {
  if (buf.empty() && optional) return {};
  const index_t n = b.size();
  if (n == 0 || buf.size() % static_cast<size_t>(n) != 0)
    return {errc::shape_mismatch, name, -1,
            "size " + std::to_string(buf.size()) + " is not N·T with N = " + std::to_string(n)};
  const index_t t = static_cast<index_t>(buf.size()) / n;
  if (t < b.max_completion_length())
    return {errc::shape_mismatch, name, -1,
            "T = " + std::to_string(t) + " is shorter than the longest completion (" +
                std::to_string(b.max_completion_length()) + ")"};
  if (width != 0 && width != t)
    return {errc::shape_mismatch, name, -1, "T differs from that of the other per-token buffer"};
  width = t;
  return {};
}

/// G completions for each of P prompts (N = P·G, group g = rows [g·G, (g+1)·G)), as the trainer
/// consumes them.
struct rollout {
  sequence_batch batch;
  index_t group_size = 0;              // G
  index_t width = 0;                   // T of the [N, T] buffers = max completion length
  std::vector<float> old_logp;         // [N, T] logp recorded while sampling, 0 at padding
  std::vector<std::uint8_t> mask;      // [N, T] 1 on completion tokens (the stop token included)
  std::vector<std::uint8_t> finished;  // [N] 1 if the completion ended with the stop token,
                                       //     0 if it was truncated (max_new_tokens / context)
  [[nodiscard]] index_t size() const { return batch.size(); }
  [[nodiscard]] index_t num_prompts() const { return group_size > 0 ? size() / group_size : 0; }
};

template <class P>
concept differentiable_policy =
    requires(P& p, const P& cp, const sequence_view& b, typename P::scalar_type tau,
             std::span<typename P::scalar_type> out, std::span<const typename P::scalar_type> g) {
      typename P::scalar_type;
      { p.logprobs(b, tau, out, out) } -> std::same_as<status>;
      { p.backward(b, g, g) } -> std::same_as<status>;
      p.zero_grad();
      { p.parameters() } -> std::same_as<std::span<typename P::scalar_type>>;
      { p.gradients() } -> std::same_as<std::span<typename P::scalar_type>>;
      { cp.snapshot() } -> std::same_as<P>;
    };

template <class P>
concept sampling_policy =
    requires(P& p, std::span<const std::vector<token_t>> prompts, index_t group_size,
             const sampler_config& cfg, rng_type& rng, rollout& out) {
      { p.sample(prompts, group_size, cfg, rng, out) } -> std::same_as<status>;
    };

/// What GRPO trains: differentiable and able to sample.
template <class P>
concept policy = differentiable_policy<P> && sampling_policy<P>;

/// What the KL term needs from a reference: forward log-probabilities only.
template <class R>
concept reference_policy =
    requires(R& r, const sequence_view& b, typename R::scalar_type tau,
             std::span<typename R::scalar_type> out) {
      { r.logprobs(b, tau, out, out) } -> std::same_as<status>;
    };

/// Fills the rollout's [N, T] layout (T = the longest completion) from its batch and
/// `logp_of(i, t)`, the log-prob of completion token t of sequence i.
template <class LogpOf>
  requires std::invocable<LogpOf&, index_t, index_t>
void finalize_rollout(rollout& r, LogpOf&& logp_of) {
  const index_t n = r.batch.size();
  r.width = r.batch.max_completion_length();
  r.old_logp.assign(static_cast<size_t>(n * r.width), 0.0f);
  r.mask.assign(static_cast<size_t>(n * r.width), 0);
  for (index_t i = 0; i < n; ++i)
    for (index_t t = 0; t < r.batch.completion_length(i); ++t) {
      r.old_logp[static_cast<size_t>(i * r.width + t)] = static_cast<float>(logp_of(i, t));
      r.mask[static_cast<size_t>(i * r.width + t)] = 1;
    }
}
/// The samplers' form: one vector of log-probs per sequence.
inline void finalize_rollout(rollout& r, const std::vector<std::vector<float>>& logps) {
  finalize_rollout(r, [&](index_t i, index_t t) { return logps[static_cast<size_t>(i)][static_cast<size_t>(t)]; });
}

namespace detail {
/// Re-lays n rows of an [n, from] buffer as [n, to] in place, zero-padded (`to` may be either side
/// of `from`; the caller sizes the buffer to n·max(from, to) first and trims it after).
template <class T>
void relayout_rows(std::vector<T>& v, index_t n, index_t from, index_t to) {
  if (from == to) return;
  auto at = [&](index_t i, index_t w) { return v.begin() + i * w; };
  if (to < from) {  // rows move left: in increasing order each row is read before it is overwritten
    for (index_t i = 1; i < n; ++i) std::copy(at(i, from), at(i, from) + to, at(i, to));
  } else {          // rows move right: in decreasing order
    for (index_t i = n - 1; i >= 0; --i) {
      if (i > 0) std::copy_backward(at(i, from), at(i, from) + from, at(i, to) + from);
      std::fill(at(i, to) + from, at(i, to) + to, T{});
    }
  }
}
}  // namespace detail

/// Keeps the first n sequences in place; T becomes the longest kept completion.
inline void truncate_rollout(rollout& r, index_t n) {
  const index_t W = r.width;
  r.batch.truncate(n);
  r.finished.resize(static_cast<size_t>(n));
  r.width = r.batch.max_completion_length();
  detail::relayout_rows(r.old_logp, n, W, r.width);
  detail::relayout_rows(r.mask, n, W, r.width);
  r.old_logp.resize(static_cast<size_t>(n * r.width));
  r.mask.resize(static_cast<size_t>(n * r.width));
}

/// Appends group g of `src` (its G consecutive sequences) to `dst`, widening dst's [N, T] layout
/// when the group holds a longer completion.
inline void append_group(rollout& dst, const rollout& src, index_t g) {
  const index_t G = src.group_size, n0 = dst.size(), W = dst.width;
  dst.group_size = G;
  for (index_t i = g * G; i < (g + 1) * G; ++i) {
    const token_t* s = src.batch.sequence(i);
    const auto P = static_cast<size_t>(src.batch.prompt_length(i)), L = static_cast<size_t>(src.batch.length(i));
    dst.batch.add(std::span<const token_t>(s, P), std::span<const token_t>(s + P, L - P));
    dst.finished.push_back(src.finished[static_cast<size_t>(i)]);
  }
  const index_t W2 = std::max(W, src.batch.rows(g * G, (g + 1) * G).max_completion_length());
  const auto total = static_cast<size_t>((n0 + G) * W2);
  dst.old_logp.resize(total);
  dst.mask.resize(total);
  detail::relayout_rows(dst.old_logp, n0, W, W2);
  detail::relayout_rows(dst.mask, n0, W, W2);
  dst.width = W2;
  for (index_t k = 0; k < G; ++k) {
    const index_t i = g * G + k, w = std::min(src.width, W2);
    const auto from = static_cast<size_t>(i * src.width), to = static_cast<size_t>((n0 + k) * W2);
    std::fill_n(dst.old_logp.begin() + to, W2, 0.0f);
    std::fill_n(dst.mask.begin() + to, W2, std::uint8_t{0});
    std::copy_n(src.old_logp.begin() + from, w, dst.old_logp.begin() + to);
    std::copy_n(src.mask.begin() + from, w, dst.mask.begin() + to);
  }
}

}  // namespace grpo::model

namespace grpo::model {

/// The generic decode loop for models without a KV cache: `next_logits(prefix, prompt_length,
/// z)` writes the logits z[0..V) of the next token given the whole prefix (prompt first). The
/// caller checks that prompt tokens are valid inputs of its model. Used by the tabular policy and
/// the adapter; the transformer has its own batched, cached loop.
template <class S, class NextLogits>
status sample_autoregressive(std::span<const std::vector<token_t>> prompts, index_t group_size,
                             const sampler_config& cfg, rng_type& rng, index_t vocab,
                             index_t max_length, NextLogits&& next_logits, rollout& out) {
  GRPO_TRY(validate(cfg));
  if (group_size <= 0)
    return {errc::bad_config, "group_size", -1, "G must be positive"};
  if (prompts.empty()) return {errc::shape_mismatch, "prompts", -1, "no prompts"};
  out.batch.clear();
  out.group_size = group_size;
  out.finished.clear();
  std::vector<std::vector<float>> logps;
  std::vector<S> z(static_cast<size_t>(vocab));
  std::vector<token_t> seq;
  sampler_workspace<S> ws;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto& prompt = prompts[p];
    if (prompt.empty())
      return {errc::shape_mismatch, "prompts", static_cast<index_t>(p), "empty prompt"};
    index_t budget = cfg.max_new_tokens;
    if (max_length > 0) budget = std::min(budget, max_length - static_cast<index_t>(prompt.size()));
    if (budget <= 0)
      return {errc::out_of_range, "prompts", static_cast<index_t>(p),
              "prompt of length " + std::to_string(prompt.size()) + " fills the context " +
                  std::to_string(max_length)};
    for (index_t g = 0; g < group_size; ++g) {
      seq.assign(prompt.begin(), prompt.end());
      std::vector<float> lp;
      bool done = false;
      while (static_cast<index_t>(lp.size()) < budget && !done) {
        next_logits(std::span<const token_t>(seq), static_cast<index_t>(prompt.size()), z.data());
        const auto d = sample_token<S>(z.data(), vocab, cfg, rng, ws);
        seq.push_back(d.token);
        lp.push_back(static_cast<float>(d.logp));
        done = d.token == cfg.stop_token;
      }
      out.batch.add(prompt, std::span<const token_t>(seq).subspan(prompt.size()));
      out.finished.push_back(done ? 1 : 0);
      logps.push_back(std::move(lp));
    }
  }
  finalize_rollout(out, logps);
  return {};
}

}  // namespace grpo::model

// 07: a libtorch transformer trained by grpo, and grpo's loss inside a libtorch training loop.
//
// Part 1 wraps a small torch::nn transformer as a grpo::model::policy (make_policy_adapter) and
// trains it with grpo::train::trainer on the task of `make demo`: 1-2-digit addition with the
// R1-Zero template and the accuracy + format rewards, after a short pre-training on the demo's
// documents with grpo::train::pretrain.
// Part 2 trains a copy of the same base model with a plain libtorch loop: grpo samples, scores
// and computes group advantages; libtorch runs the model, grpo::torch::loss (TRL's GRPO loss) is
// one node of the autograd graph, and torch::optim::AdamW takes the step.
//
// The program checks itself and exits with 1 when a check fails: the parameters stay views of one
// flat buffer that autograd and AdamW write in place, copies are deep, the KV-cache sampler agrees
// with the teacher-forced log-probs, and grpo::torch::loss's gradient matches a hand-written
// autograd version of TRL's loss to 1e-10 in float64.
//
//   build/examples/07_libtorch_policy [--quick] [--seed N]     (about 6 minutes; --quick: 15 s)
#include <grpo/interop/torch.hpp>
#include <grpo/model/adapter.hpp>
#include <grpo/train/r1_zero_demo.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace gm = grpo::model;
namespace gt = grpo::train;
using i64 = std::int64_t;

static int failures = 0;
static void check(bool ok, const std::string& what) {
  std::printf("  check: %-66s %s\n", what.c_str(), ok ? "ok" : "FAILED");
  failures += ok ? 0 : 1;
}
static double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// ---- the network: plain torch::nn (pre-LN GPT), nothing grpo-specific ----------------------------
struct BlockImpl : torch::nn::Cloneable<BlockImpl> {
  i64 d, heads;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, up{nullptr}, down{nullptr};
  BlockImpl(i64 d_model, i64 n_heads) : d(d_model), heads(n_heads) { reset(); }
  void reset() override {  // Cloneable::clone calls it to build the copy's submodules
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    qkv = register_module("qkv", torch::nn::Linear(d, 3 * d));
    proj = register_module("proj", torch::nn::Linear(d, d));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    up = register_module("up", torch::nn::Linear(d, 4 * d));
    down = register_module("down", torch::nn::Linear(4 * d, d));
  }
  // x [N, L, d]. With a cache (k, v: [N, heads, S0, d/heads]) the L new positions follow the S0
  // cached ones and are appended; key_bias [N, 1, 1, S] (0 or -inf) hides cache slots.
  at::Tensor forward(at::Tensor x, at::Tensor* k_cache, at::Tensor* v_cache, const at::Tensor& key_bias) {
    const i64 N = x.size(0), L = x.size(1), hd = d / heads;
    const auto qkv_ = qkv(ln1(x)).view({N, L, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    at::Tensor q = qkv_[0], k = qkv_[1], v = qkv_[2];
    if (k_cache) {
      if (k_cache->defined()) k = torch::cat({*k_cache, k}, 2), v = torch::cat({*v_cache, v}, 2);
      *k_cache = k, *v_cache = v;
    }
    const i64 S = k.size(2);
    auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd)));
    att = att + torch::full({L, S}, -std::numeric_limits<float>::infinity()).triu(S - L + 1);  // causal
    if (key_bias.defined()) att = att + key_bias;
    x = x + proj(torch::matmul(torch::softmax(att, -1), v).transpose(1, 2).reshape({N, L, d}));
    return x + down(torch::gelu(up(ln2(x))));
  }
};
TORCH_MODULE(Block);

struct kv_cache {
  std::vector<at::Tensor> k, v;  // one per layer
};

struct GPTImpl : torch::nn::Cloneable<GPTImpl> {
  i64 vocab, context, d, layers, heads;
  torch::nn::Embedding tok{nullptr}, pos{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
  torch::nn::Linear head{nullptr};
  explicit GPTImpl(const gm::transformer_config& c)
      : vocab(c.vocab_size), context(c.context), d(c.d_model), layers(c.n_layers), heads(c.n_heads) { reset(); }
  void reset() override {
    tok = register_module("tok", torch::nn::Embedding(vocab, d));
    pos = register_module("pos", torch::nn::Embedding(context, d));
    blocks.clear();
    for (i64 l = 0; l < layers; ++l) blocks.push_back(register_module("block" + std::to_string(l), Block(d, heads)));
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    head = register_module("head", torch::nn::Linear(d, vocab));
  }
  // tokens [N, L], positions [N or 1, L] (int64) -> logits [N, L, V]
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& positions, kv_cache* cache = nullptr,
                     const at::Tensor& key_bias = {}) {
    at::Tensor x = tok(tokens) + pos(positions);
    if (cache && cache->k.empty()) cache->k.resize(blocks.size()), cache->v.resize(blocks.size());
    for (std::size_t l = 0; l < blocks.size(); ++l)
      x = blocks[l]->forward(x, cache ? &cache->k[l] : nullptr, cache ? &cache->v[l] : nullptr, key_bias);
    return head(ln_f(x));
  }
};
TORCH_MODULE(GPT);

// ---- the network as grpo sees it: one flat parameter buffer, deep copies -------------------------
// grpo's optimiser, clipping and snapshots work on two flat spans (parameters, gradients), so every
// torch parameter is made a view into `flat` and its .grad() a view into `grad`; autograd then
// accumulates into `grad` in place (checked below). A copy clones the module and flattens the clone.
struct torch_lm {
  GPT net{nullptr};
  at::Tensor flat, grad;
  at::Tensor saved;  // the last teacher-forced logits, graph attached, for `backward`

  explicit torch_lm(const gm::transformer_config& c) : net(c) {
    torch::NoGradGuard no_grad;
    torch::manual_seed(c.seed);
    for (auto& p : net->named_parameters()) {  // GPT-2 style initialisation
      const std::string& n = p.key();
      if (p.value().dim() == 1) p.value().fill_(n.ends_with("weight") ? 1.0 : 0.0);  // LN gains, biases
      else
        p.value().normal_(0.0, (n.ends_with("proj.weight") || n.ends_with("down.weight"))
                                   ? 0.02 / std::sqrt(2.0 * static_cast<double>(c.n_layers)) : 0.02);
    }
    flatten();
  }
  torch_lm(const torch_lm& o) : net(std::dynamic_pointer_cast<GPTImpl>(o.net->clone())) { flatten(); }
  torch_lm(torch_lm&&) = default;
  torch_lm& operator=(torch_lm&&) = default;
  torch_lm& operator=(const torch_lm& o) { return *this = torch_lm(o); }

  void flatten() {
    torch::NoGradGuard no_grad;
    i64 n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    flat = torch::empty({n});
    grad = torch::zeros({n});
    i64 at = 0;
    for (auto& p : net->parameters()) {
      const at::Tensor view = flat.narrow(0, at, p.numel()).view(p.sizes());
      view.copy_(p);
      p.set_data(view);  // the module's parameter now lives in `flat`
      p.mutable_grad() = grad.narrow(0, at, p.numel()).view(p.sizes());
      at += p.numel();
    }
  }
  // every parameter and its gradient still live in the flat buffers, in order
  [[nodiscard]] bool views_ok() const {
    i64 at = 0;
    for (const auto& p : net->parameters()) {
      if (p.data_ptr<float>() != flat.data_ptr<float>() + at || !p.grad().defined() ||
          p.grad().data_ptr<float>() != grad.data_ptr<float>() + at)
        return false;
      at += p.numel();
    }
    return at == flat.numel();
  }

  // the adapter's `logits`: row m of z = logits after packed token m (batch padded to [N, L])
  void logits(gm::sequence_view b, float* z) {
    const i64 N = b.size();
    i64 L = 0;
    for (i64 i = 0; i < N; ++i) L = std::max(L, b.length(i));
    at::Tensor tokens = torch::zeros({N, L}, torch::kLong), rows = torch::empty({static_cast<i64>(b.tokens.size())}, torch::kLong);
    i64 *t = tokens.data_ptr<i64>(), *r = rows.data_ptr<i64>();
    for (i64 i = 0; i < N; ++i)
      for (i64 j = 0; j < b.length(i); ++j) t[i * L + j] = b.sequence(i)[j], r[b.offset(i) + j] = i * L + j;
    const at::Tensor out = net->forward(tokens, torch::arange(L).unsqueeze(0)).view({N * L, -1}).index_select(0, rows);
    std::memcpy(z, out.data_ptr<float>(), sizeof(float) * static_cast<std::size_t>(out.numel()));
    saved = torch::GradMode::is_enabled() ? out : at::Tensor();
  }
  // the adapter's `backward`: dL/dz for the rows of the last `logits` call
  void backward(gm::sequence_view b, const float* dz) {
    if (!saved.defined() || saved.size(0) != static_cast<i64>(b.tokens.size()))
      throw std::logic_error("torch_lm::backward needs the batch of the last logits call");
    saved.backward(torch::from_blob(const_cast<float*>(dz), saved.sizes()).clone());
    saved = at::Tensor();
  }
};

static auto make_policy(torch_lm lm, i64 vocab, i64 context) {
  return gm::make_policy_adapter(
      std::move(lm), vocab, context,
      [](torch_lm& m, gm::sequence_view b, float* z) { m.logits(b, z); },
      [](torch_lm& m, gm::sequence_view b, const float* dz) { m.backward(b, dz); },
      [](torch_lm& m) { return std::span<float>(m.flat.data_ptr<float>(), static_cast<std::size_t>(m.flat.numel())); },
      [](torch_lm& m) { return std::span<float>(m.grad.data_ptr<float>(), static_cast<std::size_t>(m.grad.numel())); });
}

// ---- a batched sampler with a KV cache --------------------------------------------------------
// The adapter samples through grpo's generic decode loop: one sequence at a time, the whole prefix
// re-run for every token. This decodes all P·G sequences together with a KV cache (prompts padded
// on the right; the padding's cache slots are masked) and draws each token with grpo's own
// sample_token. It has grpo's sampling_policy interface, so evaluate_policy takes it too.
struct kv_sampler {
  torch_lm* lm;
  i64 context;
  grpo::status sample(std::span<const std::vector<gm::token_t>> prompts, grpo::index_t G,
                      const gm::sampler_config& cfg, gm::rng_type& rng, gm::rollout& out) const {
    GRPO_TRY(gm::validate(cfg));
    torch::NoGradGuard no_grad;
    const i64 N = static_cast<i64>(prompts.size()) * G, V = lm->net->vocab;
    i64 P = 0, B = 0;
    for (const auto& p : prompts) P = std::max(P, static_cast<i64>(p.size()));
    std::vector<i64> plen(static_cast<std::size_t>(N)), budget(plen);
    at::Tensor tokens = torch::zeros({N, P}, torch::kLong), last = torch::empty({N, 1, V}, torch::kLong);
    for (i64 i = 0; i < N; ++i) {
      const auto& p = prompts[static_cast<std::size_t>(i / G)];
      plen[static_cast<std::size_t>(i)] = static_cast<i64>(p.size());
      budget[static_cast<std::size_t>(i)] = std::min<i64>(cfg.max_new_tokens, context - static_cast<i64>(p.size()));
      if (p.empty() || budget[static_cast<std::size_t>(i)] <= 0)
        return {grpo::errc::out_of_range, "prompts", i / G, "empty, or fills the context"};
      B = std::max(B, budget[static_cast<std::size_t>(i)]);
      std::copy(p.begin(), p.end(), tokens.data_ptr<i64>() + i * P);
      last[i].fill_(static_cast<i64>(p.size()) - 1);
    }
    // cache slots [prompt length, P) hold padding: never attended
    at::Tensor bias = torch::zeros({N, 1, 1, P + B});
    for (i64 i = 0; i < N; ++i) bias[i].narrow(2, plen[static_cast<std::size_t>(i)], P - plen[static_cast<std::size_t>(i)]).fill_(-std::numeric_limits<float>::infinity());
    kv_cache cache;
    at::Tensor next = lm->net->forward(tokens, torch::arange(P).unsqueeze(0), &cache).gather(1, last).squeeze(1).contiguous();
    std::vector<std::vector<gm::token_t>> completion(static_cast<std::size_t>(N));
    std::vector<std::vector<float>> logps(static_cast<std::size_t>(N));
    std::vector<std::uint8_t> done(static_cast<std::size_t>(N), 0), finished(done);
    at::Tensor step_tokens = torch::zeros({N, 1}, torch::kLong), step_pos = torch::zeros({N, 1}, torch::kLong);
    gm::sampler_workspace<float> ws;
    for (i64 t = 0; t < B; ++t) {
      bool active = false;
      for (i64 i = 0; i < N; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (done[k]) continue;
        const auto d = gm::sample_token<float>(next.data_ptr<float>() + i * V, V, cfg, rng, ws);
        completion[k].push_back(d.token);
        logps[k].push_back(d.logp);
        finished[k] = d.token == cfg.stop_token;
        done[k] = finished[k] || static_cast<i64>(completion[k].size()) == budget[k];
        active = active || !done[k];
        step_tokens.data_ptr<i64>()[i] = d.token;
        step_pos.data_ptr<i64>()[i] = plen[k] + t;
      }
      if (!active) break;
      next = lm->net->forward(step_tokens, step_pos, &cache, bias.narrow(3, 0, P + t + 1)).select(1, 0).contiguous();
    }
    out.batch.clear();
    out.group_size = G;
    out.finished = finished;
    for (i64 i = 0; i < N; ++i) out.batch.add(prompts[static_cast<std::size_t>(i / G)], completion[static_cast<std::size_t>(i)]);
    gm::finalize_rollout(out, logps);
    return {};
  }
};

// ---- part 2's pieces: libtorch log-probs and TRL's loss written with autograd ---------------------
// log π(o_{i,t}) on the rollout's padded [N, T] grid: the model on the padded batch, the logits
// rows that predict completion tokens, grpo::torch::selective_log_softmax (never [N, T, V] probs)
static at::Tensor completion_logprobs(torch_lm& m, const gm::rollout& r) {
  const auto& b = r.batch;
  const i64 N = b.size(), T = r.width;
  i64 L = 0;
  for (i64 i = 0; i < N; ++i) L = std::max(L, b.length(i));
  at::Tensor tokens = torch::zeros({N, L}, torch::kLong), rows = torch::zeros({N, T, 1}, torch::kLong),
             targets = torch::zeros({N, T}, torch::kLong);
  for (i64 i = 0; i < N; ++i) {
    const i64 p = b.prompt_length(i), c = b.completion_length(i);
    std::copy(b.sequence(i), b.sequence(i) + b.length(i), tokens.data_ptr<i64>() + i * L);
    for (i64 t = 0; t < T; ++t) {
      rows.data_ptr<i64>()[i * T + t] = p - 1 + std::min(t, c - 1);  // padding: any valid row
      targets.data_ptr<i64>()[i * T + t] = t < c ? b.sequence(i)[p + t] : 0;
    }
  }
  const at::Tensor logits = m.net->forward(tokens, torch::arange(L).unsqueeze(0));
  return grpo::torch::selective_log_softmax(logits.gather(1, rows.expand({N, T, logits.size(2)})), targets);
}

// TRL loss_type="grpo": ρ = e^(logp − old), ℓ = −min(ρA, clip(ρ, 1−ε, 1+ε)A) + β·k3·ρ with
// k3 = e^(ref−logp) − (ref−logp) − 1 (use_bias_correction_kl), mean over each sequence's
// tokens, then over the sequences
static at::Tensor trl_grpo_loss(const at::Tensor& logp, const at::Tensor& old, const at::Tensor& ref,
                                const at::Tensor& mask, const at::Tensor& adv, double eps_lo, double eps_hi, double beta) {
  const at::Tensor m = mask.to(logp.scalar_type()), rho = torch::exp(logp - old), A = adv.unsqueeze(1), x = ref - logp;
  const at::Tensor pg = -torch::minimum(rho * A, torch::clamp(rho, 1 - eps_lo, 1 + eps_hi) * A);
  const at::Tensor per_token = pg + beta * (torch::exp(x) - x - 1) * rho;
  return ((per_token * m).sum(1) / m.sum(1).clamp_min(1)).mean();
}

int main(int argc, char** argv) {
  bool quick = false;
  std::uint64_t seed = 1;
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--quick") == 0) quick = true;
    else if (std::strcmp(argv[a], "--seed") == 0 && a + 1 < argc) seed = std::strtoull(argv[++a], nullptr, 10);
    else return std::fprintf(stderr, "usage: %s [--quick] [--seed N]\n", argv[0]), 2;
  }
  const auto t_start = std::chrono::steady_clock::now();
  torch::set_num_threads(1);  // tiny matrices: a second thread costs more than it gains
  // the demo's task, rewards, tokenizer, model sizes and GRPO settings; shorter runs
  // --quick is a smoke run for CI (every check, no learning to speak of): 30 pre-training steps,
  // 3 GRPO steps of 4 prompts, 8 problems x 2 samples
  auto cfg = gt::make_demo_config(true, seed);
  cfg.pretrain_steps = quick ? 30 : 600;
  const i64 grpo_steps = quick ? 3 : 20;
  if (quick) cfg.eval_problems = 8, cfg.eval_k = 2, cfg.grpo.prompts_per_step = 4;
  grpo::task::addition add;
  add.min_digits = cfg.min_digits, add.max_digits = cfg.max_digits;
  const auto tokenizer = grpo::task::tokenizer::compact();
  gt::task_environment env(add, gt::demo_rewards(), tokenizer, grpo::task::r1_zero_compact);
  const gm::transformer_config mc = gt::demo_model_config(cfg, tokenizer.vocab_size());
  const i64 V = mc.vocab_size, G = cfg.grpo.group_size, P = cfg.grpo.prompts_per_step;

  std::printf("== the model: torch::nn transformer behind grpo::model::make_policy_adapter\n");
  auto policy = make_policy(torch_lm(mc), V, mc.context);
  static_assert(gm::policy<decltype(policy)>, "the adapter makes it a grpo policy");
  torch_lm& lm = policy.model();
  std::printf("  d = %ld, %ld layers, %ld heads, context %ld: %ld parameters in one flat buffer\n", long(mc.d_model),
              long(mc.n_layers), long(mc.n_heads), long(mc.context), long(lm.flat.numel()));
  check(lm.views_ok(), "every parameter and .grad() is a view of the flat buffers");
  {  // autograd must add into the flat gradient in place, or grpo would read stale zeros
    gm::sequence_batch b;
    std::vector<gm::token_t> doc;
    grpo::throw_if_error(tokenizer.encode("User: 12+34=?\nAssistant: 46", doc));
    b.add(std::span(doc).first(1), std::span(doc).subspan(1));
    std::vector<float> logp(doc.size() - 1), dlogp(doc.size() - 1, -1.0f);
    policy.zero_grad();
    grpo::throw_if_error(policy.logprobs(b, 1.0f, logp, {}));
    grpo::throw_if_error(policy.backward(b, dlogp, {}));
    const at::Tensor once = lm.grad.clone();
    grpo::throw_if_error(policy.logprobs(b, 1.0f, logp, {}));
    grpo::throw_if_error(policy.backward(b, dlogp, {}));
    check(once.abs().sum().item<double>() > 0 && torch::allclose(lm.grad, 2 * once, 1e-5, 1e-7) && lm.views_ok(),
          "two backward passes accumulate in place into the flat gradient");
    const auto snap = policy.snapshot();
    check(snap.model().flat.data_ptr() != lm.flat.data_ptr() && torch::equal(snap.model().flat, lm.flat) &&
              snap.model().views_ok(), "snapshot() is a deep copy with its own flat buffers");
  }

  std::printf("== pre-training on the demo's documents (grpo::train::pretrain through the adapter)\n");
  auto t0 = std::chrono::steady_clock::now();
  std::vector<grpo::optim::decay_exclusion> no_decay;  // biases and LayerNorm gains
  for (i64 at = 0; const auto& p : lm.net->parameters()) {
    if (p.dim() == 1) no_decay.push_back({at, p.numel()});
    at += p.numel();
  }
  gt::pretrain_config pc;
  pc.steps = cfg.pretrain_steps, pc.batch = cfg.pretrain_batch, pc.context = mc.context, pc.lr = cfg.pretrain_lr;
  pc.progress = false;
  grpo::task::splitmix64 doc_rng(grpo::task::mix64(cfg.seed ^ 0x9E37ull));
  grpo::throw_if_error(gt::pretrain(policy, pc, [&](std::vector<gm::token_t>& doc) -> grpo::status {
    grpo::task::problem p;
    grpo::task::splitmix64 pr(doc_rng.next());
    GRPO_TRY(grpo::task::generate(add, pr, grpo::task::split::train, p));
    GRPO_TRY(tokenizer.encode(gt::demo_document(cfg, env.prompt_template(), p, doc_rng), doc));
    doc.push_back(grpo::task::eos_token);
    return {};
  }, no_decay));
  std::printf("  %ld steps of %ld documents, %.1f s\n", long(pc.steps), long(pc.batch), seconds_since(t0));

  // held-out pass@1 as the demo measures it (k samples at temperature 0.6, top-p 0.95)
  std::vector<grpo::task::problem> test;
  grpo::throw_if_error(grpo::task::make_problems(add, grpo::task::split::test, cfg.eval_problems, cfg.seed + 1000, test));
  gt::eval_config ec;
  ec.k = cfg.eval_k;
  ec.sampling.max_new_tokens = cfg.grpo.sampling.max_new_tokens;
  ec.seed = cfg.seed * 31 + 7;
  auto evaluate = [&](torch_lm& m, const char* label) {
    gt::eval_result e;
    kv_sampler sampler{&m, mc.context};
    grpo::throw_if_error(gt::evaluate_policy(sampler, env, test, ec, e));
    std::printf("  %-22s pass@1 %.3f  format %.3f  greedy %.3f  (%ld problems x %ld samples)\n", label, e.pass1,
                e.format_rate, e.greedy_accuracy, long(e.problems), long(e.k));
    return e;
  };
  const gt::eval_result base = evaluate(lm, "base model:");
  {  // the adapter's generic decode loop and the KV-cache sampler, greedy, on the same prompts
    gt::prompt_list prompts(2);
    for (int p = 0; p < 2; ++p) grpo::throw_if_error(env.encode_prompt(test[static_cast<std::size_t>(p)], prompts[static_cast<std::size_t>(p)]));
    gm::sampler_config greedy = ec.sampling;
    greedy.temperature = 0;
    gm::rollout a, b;
    gm::rng_type r1(1), r2(1);
    t0 = std::chrono::steady_clock::now();
    grpo::throw_if_error(policy.sample(prompts, 1, greedy, r1, a));
    const double ta = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    grpo::throw_if_error(kv_sampler{&lm, mc.context}.sample(prompts, 1, greedy, r2, b));
    const double tb = seconds_since(t0);
    std::printf("  greedy decode of 2 prompts: adapter's loop %.1f ms, KV cache %.1f ms\n", 1e3 * ta, 1e3 * tb);
    check(a.batch.tokens == b.batch.tokens, "the KV-cache sampler decodes what the adapter's loop decodes");
  }
  torch_lm base_copy = lm;  // a deep copy of the base model, for part 2

  std::printf("== part 1: grpo::train::trainer (demo objective: trl::grpo with k3, beta 0.001)\n");
  t0 = std::chrono::steady_clock::now();
  auto objective = grpo::with(grpo::presets::trl::grpo(), grpo::kl::k3{});
  objective.beta = 0.001;
  gt::trainer tr(policy, env, grpo::group_normalized{}, objective, cfg.grpo);
  tr.exclude_from_decay(no_decay);
  tr.set_run_length(grpo_steps);
  double gap_max = 0;
  for (i64 s = 0; s < grpo_steps; ++s) {
    // the trainer's prompts, sampled by the KV-cache sampler with the trainer's RNG, handed back as
    // an external rollout: the trainer recomputes the old log-probs with the policy and reports the gap
    gt::prompt_list prompts;
    grpo::throw_if_error(tr.draw_prompts(prompts));
    gm::rollout r;
    grpo::throw_if_error(kv_sampler{&lm, mc.context}.sample(prompts, G, cfg.grpo.sampling, tr.rng(), r));
    gt::external_rollout ext{r.batch, G, {}, r.finished};
    for (std::size_t k = 0; k < r.mask.size(); ++k)
      if (r.mask[k]) ext.sampler_logp.push_back(r.old_logp[k]);
    gt::metrics_record m;
    grpo::throw_if_error(tr.step(ext, m));
    gap_max = std::max(gap_max, m.get("sampler_logp_gap_max"));
    if (s % 5 == 0 || s == grpo_steps - 1)
      std::printf("  step %3ld  reward %.3f  accuracy %.3f  loss %+.4f  kl %.5f  sampler gap %.1e\n", long(s + 1),
                  m.get("reward_mean"), m.get("accuracy"), m.get("loss"), m.get("kl"), m.get("sampler_logp_gap_max"));
  }
  std::printf("  %ld steps, %.1f s\n", long(grpo_steps), seconds_since(t0));
  check(gap_max < 1e-3, "sampler log-probs = teacher-forced log-probs (max gap " + std::to_string(gap_max) + ")");
  check(lm.views_ok(), "parameters are still views after the trainer's AdamW steps");
  const gt::eval_result after1 = evaluate(lm, "after part 1:");

  std::printf("== part 2: a libtorch loop around grpo::torch::loss (trl::grpo, beta 0.001)\n");
  t0 = std::chrono::steady_clock::now();
  torch_lm& lm2 = base_copy;
  torch_lm ref2 = base_copy;  // the frozen reference
  std::vector<at::Tensor> params = lm2.net->parameters();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(cfg.grpo.adamw.lr).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.0));
  auto trl_grpo = grpo::presets::trl::grpo();
  trl_grpo.beta = 0.001;
  gm::rng_type rng(cfg.grpo.seed);
  for (i64 s = 0; s < grpo_steps; ++s) {
    // grpo: prompts, G samples each, rewards, group-normalised advantages
    gt::prompt_list prompts;
    grpo::throw_if_error(env.draw_prompts(P, rng, prompts));
    gm::rollout r;
    grpo::throw_if_error(kv_sampler{&lm2, mc.context}.sample(prompts, G, cfg.grpo.sampling, rng, r));
    grpo::reward::reward_table table;
    std::vector<double> reflective;
    grpo::throw_if_error(env.score(r, table, reflective));
    const i64 N = r.size(), T = r.width;
    std::vector<float> reward(table.total.begin(), table.total.end()), A(static_cast<std::size_t>(N));
    grpo::reward_view view;
    view.rewards = reward.data(), view.num_sequences = N;
    grpo::advantage_stats astats;
    grpo::throw_if_error(grpo::compute_advantages(grpo::group_normalized{}, view, grpo::group_layout::fixed(N, G), A.data(), astats));
    // libtorch: log-probs with their graph, constants detached, grpo's loss as an autograd node
    const at::Tensor logp = completion_logprobs(lm2, r);
    at::Tensor ref;
    {
      torch::NoGradGuard no_grad;
      ref = completion_logprobs(ref2, r);
    }
    const at::Tensor old = torch::from_blob(r.old_logp.data(), {N, T}).clone(),
                     mask = torch::from_blob(r.mask.data(), {N, T}, torch::kByte).clone(),
                     adv = torch::from_blob(A.data(), {N}).clone();
    if (s == 0) {  // the gradient grpo gives logp = the one autograd gets from TRL's formula, in float64
      const at::Tensor base64 = logp.detach().to(torch::kDouble);
      torch::manual_seed(seed + 99);  // old and ref moved off logp, so both clip branches are taken
      const at::Tensor old64 = base64 + 0.3 * torch::randn_like(base64), ref64 = base64 + 0.3 * torch::randn_like(base64);
      const at::Tensor adv64 = torch::randn({N}, torch::kDouble);  // rewards may all be 0 this early
      for (const double beta : {trl_grpo.beta, 0.04}) {
        auto o = trl_grpo;
        o.beta = beta;
        const at::Tensor a = base64.clone().requires_grad_(true), b = base64.clone().requires_grad_(true);
        const auto ra = grpo::torch::loss(o, {.logp = a, .old = old64, .ref = ref64, .mask = mask, .advantages = adv64});
        ra.loss.backward();
        const at::Tensor lb = trl_grpo_loss(b, old64, ref64, mask, adv64, o.surrogate.eps_low, o.surrogate.eps_high, beta);
        lb.backward();
        const double dg = (a.grad() - b.grad()).abs().max().item<double>(), dl = std::abs(ra.loss.item<double>() - lb.item<double>());
        std::printf("  beta %.3f: |dgrad| max %.1e (grad max %.1e), |dloss| %.1e, clipped tokens %.2f\n", beta, dg,
                    b.grad().abs().max().item<double>(), dl, ra.stats["clip_region"]);
        check(dg <= 1e-10 && dl <= 1e-10, "grpo::torch::loss = autograd TRL GRPO loss, beta " + std::to_string(beta));
      }
      // libtorch's AdamW writes through the parameter views into the flat buffer (on a throwaway
      // copy, with random advantages, so the run itself is not changed)
      torch_lm probe = lm2;
      std::vector<at::Tensor> probe_params = probe.net->parameters();
      torch::optim::AdamW probe_opt(probe_params, torch::optim::AdamWOptions(1e-3));
      grpo::torch::loss(trl_grpo, {.logp = completion_logprobs(probe, r), .old = old, .ref = ref, .mask = mask,
                                   .advantages = adv64.to(torch::kFloat)}).loss.backward();
      const at::Tensor before = probe.flat.clone();
      probe_opt.step();
      check(probe.views_ok() && probe.grad.abs().sum().item<double>() > 0 && !torch::equal(before, probe.flat),
            "AdamW's step went through the views into the flat buffer");
    }
    const auto res = grpo::torch::loss(trl_grpo, {.logp = logp, .old = old, .ref = ref, .mask = mask, .advantages = adv});
    lm2.grad.zero_();  // in place: optimizer.zero_grad() could replace the views
    res.loss.backward();
    torch::nn::utils::clip_grad_norm_(params, cfg.grpo.max_grad_norm);
    opt.step();
    if (s % 5 == 0 || s == grpo_steps - 1)
      std::printf("  step %3ld  reward %.3f  loss %+.4f  kl %.5f  clip %.3f  tokens %.0f\n", long(s + 1),
                  table.total_stats.mean, res.loss.item<double>(), res.stats["kl"], res.stats["clip_region"], res.totals.tokens);
  }
  std::printf("  %ld steps, %.1f s\n", long(grpo_steps), seconds_since(t0));
  const gt::eval_result after2 = evaluate(lm2, "after part 2:");

  std::printf("== summary (seed %llu%s, %.1f s)\n", static_cast<unsigned long long>(seed), quick ? ", quick" : "", seconds_since(t_start));
  std::printf("  pass@1  base %.3f  ->  trainer %.3f  |  libtorch loop %.3f\n", base.pass1, after1.pass1, after2.pass1);
  std::printf("  format  base %.3f  ->  trainer %.3f  |  libtorch loop %.3f\n", base.format_rate, after1.format_rate, after2.format_rate);
  if (failures) std::printf("%d check(s) FAILED\n", failures);
  return failures ? 1 : 0;
}

// 02: plugging your own network into grpo.
//
// The network below is written by hand (no grpo types inside): a token and a position
// embedding, a tanh hidden layer and an output layer, with its own forward and backward. Four
// small lambdas tell grpo::model::make_policy_adapter how to run it; the adapter then provides
// the whole policy concept (tempered log-probs and entropy, their backward, sampling with
// recorded log-probs, parameter access, snapshots), checked by a static_assert.
//
// Then a short GRPO-style loop: G samples per prompt, a rule reward, group-normalised
// advantages, the policy-gradient loss −A·logp averaged per token, AdamW with clipping. The task:
// given a digit d, answer d+1 (mod 10) and stop. The mean reward printed climbs from 0 to about 1 in 150 steps (0.3 s).
#include <grpo/model/adapter.hpp>
#include <grpo/model/reference.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

// ---- the user's network, nothing grpo-specific -------------------------------------------
struct tiny_net {
  int vocab = 11, context = 8, hidden = 32;
  // all parameters in one vector (the optimiser works on one flat array): E, P, b1, W2, b2
  std::vector<float> theta, grad;
  std::vector<float> h;  // hidden activations of the last forward, [tokens, hidden]

  explicit tiny_net(unsigned seed) {
    theta.resize(size_t(vocab * hidden + context * hidden + hidden + hidden * vocab + vocab));
    grad.assign(theta.size(), 0.0f);
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 0.3f);
    for (auto& t : theta) t = nd(rng);
  }
  float* E() { return theta.data(); }
  float* P() { return E() + vocab * hidden; }
  float* b1() { return P() + context * hidden; }
  float* W2() { return b1() + hidden; }
  float* b2() { return W2() + hidden * vocab; }
  float* g(float* p) { return grad.data() + (p - theta.data()); }

  // h = tanh(E[tok] + P[pos] + b1), z = h W2 + b2, for `n` tokens at positions pos[]
  void forward(const int* tok, const int* pos, int n, float* z) {
    h.resize(size_t(n * hidden));
    for (int m = 0; m < n; ++m) {
      for (int j = 0; j < hidden; ++j)
        h[size_t(m * hidden + j)] = std::tanh(E()[tok[m] * hidden + j] + P()[pos[m] * hidden + j] + b1()[j]);
      for (int v = 0; v < vocab; ++v) {
        float s = b2()[v];
        for (int j = 0; j < hidden; ++j) s += h[size_t(m * hidden + j)] * W2()[j * vocab + v];
        z[m * vocab + v] = s;
      }
    }
  }
  void backward(const int* tok, const int* pos, int n, const float* dz) {
    for (int m = 0; m < n; ++m)
      for (int j = 0; j < hidden; ++j) {
        const float hj = h[size_t(m * hidden + j)];
        float dh = 0;
        for (int v = 0; v < vocab; ++v) {
          g(W2())[j * vocab + v] += hj * dz[m * vocab + v];
          dh += dz[m * vocab + v] * W2()[j * vocab + v];
        }
        const float dpre = dh * (1 - hj * hj);
        g(E())[tok[m] * hidden + j] += dpre;
        g(P())[pos[m] * hidden + j] += dpre;
        g(b1())[j] += dpre;
      }
    for (int m = 0; m < n; ++m)
      for (int v = 0; v < vocab; ++v) g(b2())[v] += dz[m * vocab + v];
  }
};

// ---- the adapter: how grpo runs it -------------------------------------------------------
namespace gm = grpo::model;

// tokens and positions of a packed batch, in the network's own int format
static void unpack(gm::sequence_view b, std::vector<int>& tok, std::vector<int>& pos) {
  tok.assign(b.tokens.begin(), b.tokens.end());
  pos.resize(b.tokens.size());
  for (grpo::index_t i = 0; i < b.size(); ++i)
    for (grpo::index_t p = 0; p < b.length(i); ++p) pos[size_t(b.offset(i) + p)] = int(p);
}

int main() {
  constexpr gm::token_t stop = 10;
  auto policy = gm::make_policy_adapter(
      tiny_net(7), /*vocab=*/11, /*max_length=*/8,
      [](tiny_net& net, gm::sequence_view b, float* z) {
        std::vector<int> tok, pos;
        unpack(b, tok, pos);
        net.forward(tok.data(), pos.data(), int(tok.size()), z);
      },
      [](tiny_net& net, gm::sequence_view b, const float* dz) {
        std::vector<int> tok, pos;
        unpack(b, tok, pos);
        net.backward(tok.data(), pos.data(), int(tok.size()), dz);
      },
      [](tiny_net& net) { return std::span<float>(net.theta); },
      [](tiny_net& net) { return std::span<float>(net.grad); });
  static_assert(gm::policy<decltype(policy)>, "the adapter satisfies the policy concept");

  const grpo::index_t steps = 150;
  gm::reference_model reference(policy, /*refresh_every=*/0);  // frozen initial policy
  grpo::optim::adamw opt({.lr = 0.05, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.0});
  const grpo::optim::lr_schedule lr{.peak_lr = 0.05, .warmup_steps = 5, .total_steps = steps,
                                    .decay = grpo::optim::decay_kind::cosine, .min_ratio = 0.1};
  gm::rng_type rng(42);
  gm::sampler_config sampling{.temperature = 1.0, .top_k = 0, .top_p = 1.0, .max_new_tokens = 3, .stop_token = stop};

  std::vector<std::vector<gm::token_t>> prompts;
  for (gm::token_t d = 0; d < 10; ++d) prompts.push_back({d});
  const grpo::index_t G = 8;

  for (grpo::index_t step = 0; step < steps; ++step) {
    gm::rollout r;
    grpo::throw_if_error(policy.sample(prompts, G, sampling, rng, r));
    // reward: exactly "d+1 <stop>"
    std::vector<double> reward(size_t(r.size()));
    double mean_reward = 0;
    for (grpo::index_t i = 0; i < r.size(); ++i) {
      const gm::token_t* s = r.batch.sequence(i);
      const bool ok = r.batch.completion_length(i) == 2 && s[1] == (s[0] + 1) % 10 && s[2] == stop;
      reward[size_t(i)] = ok ? 1.0 : 0.0;
      mean_reward += reward[size_t(i)] / double(r.size());
    }
    // group-normalised advantages, loss = mean over sequences of −A·mean_t logp
    std::vector<float> dlogp(size_t(r.size() * r.width), 0.0f);
    for (grpo::index_t g = 0; g < r.num_prompts(); ++g) {
      double mu = 0, var = 0;
      for (grpo::index_t k = 0; k < G; ++k) mu += reward[size_t(g * G + k)] / double(G);
      for (grpo::index_t k = 0; k < G; ++k) var += std::pow(reward[size_t(g * G + k)] - mu, 2) / double(G - 1);
      for (grpo::index_t k = 0; k < G; ++k) {
        const grpo::index_t i = g * G + k;
        const double adv = (reward[size_t(i)] - mu) / (std::sqrt(var) + 1e-4);
        for (grpo::index_t t = 0; t < r.batch.completion_length(i); ++t)
          dlogp[size_t(i * r.width + t)] =
              float(-adv / double(r.batch.completion_length(i)) / double(r.size()));
      }
    }
    std::vector<float> logp(dlogp.size()), ref_logp(dlogp.size());
    policy.zero_grad();
    grpo::throw_if_error(policy.logprobs(r.batch, 1.0f, logp, {}));
    grpo::throw_if_error(reference.logprobs(r.batch, 1.0f, ref_logp, {}));
    grpo::throw_if_error(policy.backward(r.batch, dlogp, {}));
    const double norm = grpo::optim::clip_grad_norm(policy.gradients(), 1.0);
    grpo::throw_if_error(opt.step(policy.parameters(), policy.gradients(), lr(step)));
    double kl = 0;  // k1 estimate of KL(π‖π_ref) on the sampled tokens
    grpo::index_t n_tok = 0;
    for (size_t k = 0; k < logp.size(); ++k)
      if (r.mask[k]) kl += logp[k] - ref_logp[k], ++n_tok;
    if (step % 25 == 0 || step == steps - 1)
      std::printf("step %2ld  reward %.3f  grad-norm %.3f  KL(ref) %.3f\n", long(step), mean_reward, norm,
                  kl / double(n_tok));
  }
  return 0;
}

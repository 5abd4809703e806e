// grpo/interop/torch.hpp: each op's value and gradient against the same formula written in
// libtorch tensor ops and differentiated by libtorch's autograd (float64), central finite
// differences of the loss in float64, and every error path.
#include <grpo/interop/torch.hpp>
#include <grpo/objective/presets.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

using grpo::errc;

double item(const at::Tensor& t) { return t.item<double>(); }

struct batch {
  at::Tensor logp, old, ref, mask, A;
};

/// Random log-probs with ratios well outside the clip range, ragged masks, one empty row.
batch make_batch(std::int64_t N, std::int64_t T, at::ScalarType dtype, std::uint64_t seed) {
  at::manual_seed(seed);
  const auto o = at::TensorOptions().dtype(at::kDouble);
  batch b;
  b.logp = -at::rand({N, T}, o) * 3 - 0.05;
  b.old = b.logp + at::randn({N, T}, o) * 0.3;
  b.ref = b.logp + at::randn({N, T}, o) * 0.2;
  const auto len = at::randint(1, T + 1, {N, 1}, at::kLong);
  b.mask = (at::arange(T, at::kLong).unsqueeze(0) < len).to(at::kBool);
  b.mask[N - 1].fill_(false);
  b.A = at::randn({N}, o);
  for (at::Tensor* t : {&b.logp, &b.old, &b.ref, &b.A}) *t = t->to(dtype).contiguous();
  return b;
}

enum class agg { seq_mean_token_mean, token_mean, constant };

/// TRL's GRPOTrainer._compute_loss (trl/trainer/grpo_trainer.py) in tensor ops: PPO-clip on
/// ρ = exp(logp − old), k3·ρ with β (use_bias_correction_kl), then the loss_type's aggregation.
at::Tensor trl_loss(agg a, const at::Tensor& logp, const at::Tensor& old, const at::Tensor& ref, const at::Tensor& mask,
                    const at::Tensor& A, double beta, double eps, double max_len) {
  const auto m = mask.to(logp.scalar_type());
  const auto ratio = at::exp(logp - old);
  const auto adv = A.dim() == 1 ? A.unsqueeze(1) : A;
  auto per_token = -at::min(ratio * adv, at::clamp(ratio, 1 - eps, 1 + eps) * adv);
  if (beta != 0) per_token = per_token + beta * (at::exp(ref - logp) - (ref - logp) - 1) * ratio;
  switch (a) {
    case agg::seq_mean_token_mean: return ((per_token * m).sum(1) / m.sum(1).clamp_min(1)).mean();
    case agg::token_mean: return (per_token * m).sum() / m.sum().clamp_min(1);
    case agg::constant: return (per_token * m).sum() / (double(logp.size(0)) * max_len);
  }
  return {};
}

template <class O>
void check_against_trl(const O& objective, agg a, double beta, at::ScalarType dtype, double tol) {
  const std::int64_t N = 9, T = 13;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    batch b = make_batch(N, T, dtype, seed);
    b.logp.requires_grad_(true);
    auto r = grpo::torch::loss(objective, b.logp, b.old, b.ref, b.mask, b.A);
    r.loss.backward();
    // the reference in float64 on the same values
    auto x = b.logp.detach().to(at::kDouble).requires_grad_(true);
    auto ref_loss = trl_loss(a, x, b.old.to(at::kDouble), b.ref.to(at::kDouble), b.mask, b.A.to(at::kDouble), beta,
                             0.2, double(T));
    ref_loss.backward();
    INFO("seed " << seed << " aggregation " << int(a) << " beta " << beta);
    CHECK(r.loss.scalar_type() == dtype);
    CHECK(item(r.loss) == Approx(item(ref_loss)).epsilon(tol).margin(tol));
    const double gerr = (b.logp.grad().to(at::kDouble) - x.grad()).abs().max().item<double>();
    const double gscale = x.grad().abs().max().item<double>();
    CHECK(gerr <= tol * (1 + gscale));
    CHECK(r.totals.tokens == b.mask.sum().item<double>());
  }
}

/// dL/dlogp by central differences of the op's own value, in float64.
template <class O>
void check_finite_differences(const O& objective, grpo::torch::loss_inputs in) {
  in.logp = in.logp.detach().clone().requires_grad_(true);
  auto r = grpo::torch::loss(objective, in);
  r.loss.backward();
  const at::Tensor g = in.logp.grad().clone();
  const double h = 1e-6;
  auto value = [&](const at::Tensor& x) {
    grpo::torch::loss_inputs j = in;
    j.logp = x;
    return item(grpo::torch::loss(objective, j).loss);
  };
  const auto base = in.logp.detach();
  for (std::int64_t k = 0; k < base.numel(); k += 3) {
    auto plus = base.clone(), minus = base.clone();
    plus.view(-1)[k] += h;
    minus.view(-1)[k] -= h;
    const double fd = (value(plus) - value(minus)) / (2 * h);
    INFO("token " << k);
    CHECK(g.view(-1)[k].item<double>() == Approx(fd).margin(1e-7));
  }
}

template <class F>
void check_error(F&& f, errc kind, const std::string& input, const std::string& words, grpo::index_t index = -1) {
  try {
    f();
    FAIL("no error for `" << input << "`");
  } catch (const grpo::error& e) {
    INFO(e.what());
    CHECK(e.get_status().kind() == kind);
    CHECK(e.get_status().input() == input);
    CHECK(std::string(e.what()).find(words) != std::string::npos);
    if (index >= 0) CHECK(e.get_status().index() == index);
  }
}

}  // namespace

TEST_CASE("torch loss: TRL's presets equal TRL's formula differentiated by libtorch", "[torch][loss]") {
  namespace trl = grpo::presets::trl;
  for (double beta : {0.0, 0.04}) {
    auto g = trl::grpo();
    g.beta = beta;
    auto d = trl::dapo();
    d.beta = beta;
    auto c = trl::dr_grpo(13);
    c.beta = beta;
    check_against_trl(g, agg::seq_mean_token_mean, beta, at::kDouble, 1e-12);
    check_against_trl(d, agg::token_mean, beta, at::kDouble, 1e-12);
    check_against_trl(c, agg::constant, beta, at::kDouble, 1e-12);
    check_against_trl(g, agg::seq_mean_token_mean, beta, at::kFloat, 2e-5);
    check_against_trl(d, agg::token_mean, beta, at::kFloat, 2e-5);
  }
}

TEST_CASE("torch loss: statistics, per-token advantages and the upstream gradient", "[torch][loss]") {
  const std::int64_t N = 6, T = 11;
  batch b = make_batch(N, T, at::kDouble, 7);
  auto objective = grpo::presets::trl::dapo();
  objective.beta = 0.04;
  const auto m = b.mask.to(at::kDouble);

  SECTION("kl and clip_region are TRL's masked means") {
    auto r = grpo::torch::loss(objective, b.logp, b.old, b.ref, b.mask, b.A);
    const auto ratio = at::exp(b.logp - b.old);
    const auto kl = (at::exp(b.ref - b.logp) - (b.ref - b.logp) - 1) * ratio;
    const auto A = b.A.unsqueeze(1);
    const auto region = ((ratio < 0.8) & (A < 0)) | ((ratio > 1.2) & (A > 0));
    CHECK(r.stats["kl"] == Approx(((kl * m).sum() / m.sum()).item<double>()).epsilon(1e-12));
    CHECK(r.stats["clip_region"] == Approx(((region.to(at::kDouble) * m).sum() / m.sum()).item<double>()).epsilon(1e-12));
    CHECK(r.stats.token_count == m.sum().item<double>());
  }
  SECTION("[N, T] advantages are per-token advantages") {
    const auto At = at::randn({N, T}, at::kDouble);
    auto x = b.logp.clone().requires_grad_(true);
    auto r = grpo::torch::loss(objective, {.logp = x, .old = b.old, .ref = b.ref, .mask = b.mask, .advantages = At});
    r.loss.backward();
    auto y = b.logp.clone().requires_grad_(true);
    auto ref = trl_loss(agg::token_mean, y, b.old, b.ref, b.mask, At, 0.04, 0.2, T);
    ref.backward();
    CHECK(r.loss.item<double>() == Approx(ref.item<double>()).epsilon(1e-12));
    CHECK((x.grad() - y.grad()).abs().max().item<double>() < 1e-14);
  }
  SECTION("the gradient is scaled by the upstream one and accumulates like any tensor's") {
    auto x = b.logp.clone().requires_grad_(true);
    auto r1 = grpo::torch::loss(objective, x, b.old, b.ref, b.mask, b.A);
    r1.loss.backward();
    const auto g1 = x.grad().clone();
    x.grad().zero_();
    auto r2 = grpo::torch::loss(objective, x, b.old, b.ref, b.mask, b.A);
    auto r3 = grpo::torch::loss(objective, x, b.old, b.ref, b.mask, b.A);
    (3.0 * r2.loss - 0.5 * r3.loss).backward();
    CHECK((x.grad() - 2.5 * g1).abs().max().item<double>() < 1e-15);
    CHECK((g1 * (1 - m)).abs().max().item<double>() == 0);  // nothing flows to masked-out tokens
  }
  SECTION("retain_graph: a second backward adds the same gradient again") {
    auto x = b.logp.clone().requires_grad_(true);
    auto r = grpo::torch::loss(objective, x, b.old, b.ref, b.mask, b.A);
    r.loss.backward({}, /*retain_graph=*/true);
    const auto g1 = x.grad().clone();
    r.loss.backward();
    CHECK((x.grad() - 2 * g1).abs().max().item<double>() == 0);
    auto y = b.logp.clone().requires_grad_(true);
    (2.0 * grpo::torch::loss(objective, y, b.old, b.ref, b.mask, b.A).loss).backward();
    CHECK((y.grad() - x.grad()).abs().max().item<double>() == 0);
  }
  SECTION("without requires_grad there is no gradient and no graph") {
    auto r = grpo::torch::loss(objective, b.logp, b.old, b.ref, b.mask, b.A);
    CHECK_FALSE(r.loss.requires_grad());
  }
  SECTION("under NoGradGuard: the same loss and statistics, no graph") {
    auto x = b.logp.clone().requires_grad_(true);
    auto with = grpo::torch::loss(objective, x, b.old, b.ref, b.mask, b.A);
    at::NoGradGuard no_grad;
    auto without = grpo::torch::loss(objective, x, b.old, b.ref, b.mask, b.A);
    CHECK_FALSE(without.loss.requires_grad());
    CHECK(without.loss.item<double>() == with.loss.item<double>());
    CHECK(without.stats["kl"] == with.stats["kl"]);
  }
  SECTION("unchecked gives the same loss") {
    auto r = grpo::torch::loss(objective, {.logp = b.logp, .old = b.old, .ref = b.ref, .mask = b.mask, .advantages = b.A});
    auto u = grpo::torch::loss(objective, {.logp = b.logp, .old = b.old, .ref = b.ref, .mask = b.mask, .advantages = b.A},
                               {.validate = false, .num_threads = 1});
    CHECK(u.loss.item<double>() == r.loss.item<double>());
  }
}

TEST_CASE("torch loss: finite differences in float64, with lengths, entropy and truncation", "[torch][loss]") {
  const std::int64_t N = 5, T = 7;
  batch b = make_batch(N, T, at::kDouble, 11);
  const auto lengths = b.mask.sum(1).to(at::kInt);

  auto grpo_loss = grpo::presets::trl::grpo();
  grpo_loss.beta = 0.04;
  check_finite_differences(grpo_loss, {.logp = b.logp, .old = b.old, .ref = b.ref, .lengths = lengths, .advantages = b.A});

  using O = grpo::objective<grpo::ratio::token, grpo::surrogate::ppo_clip, grpo::kl::k3, grpo::aggregation::token_mean,
                            grpo::correction::entropy_bonus, grpo::correction::truncated_mask>;
  O o;
  o.beta = 0.1;
  o.corrections.template get<grpo::correction::entropy_bonus>().coef = 0.01;
  const auto H = (at::rand({N, T}, at::kDouble) * 2).requires_grad_(true);
  const auto truncated = at::tensor({0, 1, 0, 0, 0}, at::kByte);
  grpo::torch::loss_inputs in{.logp = b.logp, .old = b.old, .ref = b.ref, .mask = b.mask, .advantages = b.A,
                              .entropy = H, .truncated = truncated};
  check_finite_differences(o, in);

  // dL/dH from the op against the formula: −coef / (in-tokens) on kept tokens, 0 elsewhere
  in.logp = b.logp.clone().requires_grad_(true);
  H.grad().zero_();
  auto r = grpo::torch::loss(o, in);
  r.loss.backward();
  auto kept = b.mask.clone();
  kept[1].fill_(false);  // truncated completions drop out
  const auto want = -0.01 * kept.to(at::kDouble) / kept.sum().item<double>();
  CHECK((H.grad() - want).abs().max().item<double>() < 1e-15);
}

TEST_CASE("torch loss: bad tensors are refused, naming the input", "[torch][loss][errors]") {
  const std::int64_t N = 4, T = 5;
  batch b = make_batch(N, T, at::kDouble, 3);
  const auto o = grpo::presets::trl::grpo();
  auto call = [&](grpo::torch::loss_inputs in) { return [=] { (void)grpo::torch::loss(o, in); }; };
  const grpo::torch::loss_inputs good{.logp = b.logp, .old = b.old, .ref = b.ref, .mask = b.mask, .advantages = b.A};

  auto in = good;
  in.logp = b.logp.to(at::kInt);
  check_error(call(in), errc::bad_tensor, "logp", "dtype Int, expected Float or Double");
  in = good;
  in.old = b.old.to(at::kFloat);
  check_error(call(in), errc::bad_tensor, "old", "dtype Float, expected Double");
  in = good;
  in.ref = at::zeros({N, T + 1}, at::kDouble);
  check_error(call(in), errc::shape_mismatch, "ref", "shape [4, 6], expected [4, 5]");
  in = good;
  in.logp = at::zeros({N, T, 1}, at::kDouble);
  check_error(call(in), errc::shape_mismatch, "logp", "expected [N, T]");
  in = good;
  in.logp = at::zeros({T, N}, at::kDouble).t();
  check_error(call(in), errc::bad_tensor, "logp", "not contiguous");
  in = good;
  in.old = at::zeros({N, T}, at::TensorOptions().dtype(at::kDouble).device(at::kMeta));
  check_error(call(in), errc::bad_tensor, "old", "on device meta");
  in = good;
  in.ref = b.ref.clone().requires_grad_(true);
  check_error(call(in), errc::bad_tensor, "ref", "requires grad");
  in = good;
  in.mask = b.mask.to(at::kFloat);
  check_error(call(in), errc::bad_tensor, "mask", "expected Bool or Byte");
  in = good;
  in.advantages = at::zeros({N + 1}, at::kDouble);
  check_error(call(in), errc::shape_mismatch, "advantages", "expected [4]");
  in = good;
  in.lengths = at::zeros({N}, at::kLong);
  check_error(call(in), errc::bad_tensor, "lengths", "expected Int");
  in = good;
  in.logp = at::Tensor();
  check_error(call(in), errc::null_pointer, "logp", "undefined");
  // values: the pass's own validation, with the flat index
  in = good;
  in.logp = b.logp.clone();
  in.logp[1][2] = std::numeric_limits<double>::quiet_NaN();
  in.mask = at::ones({N, T}, at::kBool);
  check_error(call(in), errc::non_finite, "logp", "NaN", 1 * T + 2);
  in = good;
  in.ref = at::Tensor();
  auto k = o;
  k.beta = 0.04;
  check_error([&] { (void)grpo::torch::loss(k, in); }, errc::null_pointer, "ref", "");
}

namespace {

/// log_softmax(z/τ)[y] and its entropy in float64 tensor ops.
std::pair<at::Tensor, at::Tensor> reference_logprob(const at::Tensor& z, const at::Tensor& y, double tau) {
  const auto ls = at::log_softmax(z / tau, -1);
  return {ls.gather(-1, y.unsqueeze(-1)).squeeze(-1), -(ls.exp() * ls).sum(-1)};
}

}  // namespace

TEST_CASE("torch selective_log_softmax: value and gradient equal libtorch's log_softmax + gather", "[torch][logprob]") {
  at::manual_seed(5);
  const std::int64_t B = 3, L = 7, V = 301;
  for (double tau : {1.0, 0.7}) {
    auto z = (at::randn({B, L, V}) * 3).requires_grad_(true);
    const auto y = at::randint(0, V, {B, L}, at::kLong);
    auto [lp, H] = grpo::torch::selective_log_softmax_with_entropy(z, y, tau);
    const auto g = at::randn({B, L}), gh = at::randn({B, L});
    ((lp * g).sum() + (H * gh).sum()).backward();

    auto zd = z.detach().to(at::kDouble).requires_grad_(true);
    auto [lpr, Hr] = reference_logprob(zd, y, tau);
    ((lpr * g.to(at::kDouble)).sum() + (Hr * gh.to(at::kDouble)).sum()).backward();
    INFO("tau " << tau);
    CHECK((lp.sizes() == y.sizes()));
    CHECK(lp.scalar_type() == at::kFloat);
    CHECK((lp.to(at::kDouble) - lpr).abs().max().item<double>() < 1e-5);
    CHECK((H.to(at::kDouble) - Hr).abs().max().item<double>() < 1e-5);
    CHECK((z.grad().to(at::kDouble) - zd.grad()).abs().max().item<double>() < 1e-5);

    // log-probs alone: only dlogp flows
    auto z2 = z.detach().clone().requires_grad_(true);
    grpo::torch::selective_log_softmax(z2, y, tau).sum().backward();
    auto zd2 = z.detach().to(at::kDouble).requires_grad_(true);
    reference_logprob(zd2, y, tau).first.sum().backward();
    CHECK((z2.grad().to(at::kDouble) - zd2.grad()).abs().max().item<double>() < 1e-5);
  }
}

TEST_CASE("torch selective_log_softmax: bfloat16 logits", "[torch][logprob]") {
  at::manual_seed(6);
  const std::int64_t N = 9, V = 1000;
  auto z = (at::randn({N, V}) * 2).to(at::kBFloat16).requires_grad_(true);
  const auto y = at::randint(0, V, {N}, at::kLong);
  auto lp = grpo::torch::selective_log_softmax(z, y);
  lp.sum().backward();
  auto zd = z.detach().to(at::kDouble).requires_grad_(true);  // bf16 values are exact in double
  reference_logprob(zd, y, 1.0).first.sum().backward();
  CHECK((lp.to(at::kDouble) - reference_logprob(zd.detach(), y, 1.0).first).abs().max().item<double>() < 1e-5);
  CHECK(z.grad().scalar_type() == at::kBFloat16);
  // the gradient is rounded once to bfloat16 (8 bits of mantissa)
  CHECK((z.grad().to(at::kDouble) - zd.grad()).abs().max().item<double>() <= 1.0 / 256);
}

TEST_CASE("torch fused_linear_logprob: equals log_softmax(h·Wᵀ/τ)[y] and its autograd, in chunks", "[torch][logprob]") {
  at::manual_seed(8);
  const std::int64_t B = 2, L = 9, H = 16, V = 53;
  grpo::logprob::fused_linear_options opt;
  opt.temperature = 0.9f;
  opt.token_chunk = 5;  // neither divides: the last chunks are partial
  opt.vocab_chunk = 7;
  auto h = at::randn({B, L, H}).requires_grad_(true);
  auto W = (at::randn({V, H}) * 0.3).requires_grad_(true);
  const auto y = at::randint(0, V, {B, L}, at::kLong);
  auto [lp, ent] = grpo::torch::fused_linear_logprob_with_entropy(h, W, y, opt);
  const auto g = at::randn({B, L}), gh = at::randn({B, L});
  ((lp * g).sum() + (ent * gh).sum()).backward();

  auto hd = h.detach().to(at::kDouble).requires_grad_(true);
  auto Wd = W.detach().to(at::kDouble).requires_grad_(true);
  auto [lpr, Hr] = reference_logprob(at::matmul(hd, Wd.t()), y, 0.9);
  ((lpr * g.to(at::kDouble)).sum() + (Hr * gh.to(at::kDouble)).sum()).backward();
  CHECK((lp.to(at::kDouble) - lpr).abs().max().item<double>() < 1e-4);
  CHECK((ent.to(at::kDouble) - Hr).abs().max().item<double>() < 1e-4);
  CHECK((h.grad().to(at::kDouble) - hd.grad()).abs().max().item<double>() < 1e-4);
  CHECK((W.grad().to(at::kDouble) - Wd.grad()).abs().max().item<double>() < 1e-4);

  auto h2 = h.detach().clone().requires_grad_(true);
  grpo::torch::fused_linear_logprob(h2, W.detach(), y, opt).sum().backward();
  auto hd2 = h.detach().to(at::kDouble).requires_grad_(true);
  reference_logprob(at::matmul(hd2, Wd.detach().t()), y, 0.9).first.sum().backward();
  CHECK((h2.grad().to(at::kDouble) - hd2.grad()).abs().max().item<double>() < 1e-4);
}

TEST_CASE("torch log-prob ops in float64: libtorch's autograd to 1e-12 and finite differences", "[torch][logprob]") {
  at::manual_seed(9);
  const std::int64_t N = 5, V = 37, H = 6;
  const auto y = at::randint(0, V, {N}, at::kLong);
  const auto g = at::randn({N}, at::kDouble), gh = at::randn({N}, at::kDouble);
  // L = Σ g·logp + gh·H, and its central difference along each input element (h = 1e-6)
  auto fd_check = [&](at::Tensor x, const at::Tensor& grad, auto&& value) {
    double worst = 0;
    for (std::int64_t k = 0; k < x.numel(); k += 2) {
      auto plus = x.detach().clone(), minus = x.detach().clone();
      plus.view(-1)[k] += 1e-6;
      minus.view(-1)[k] -= 1e-6;
      const double fd = (value(plus) - value(minus)) / 2e-6;
      worst = std::max(worst, std::abs(fd - grad.view(-1)[k].item<double>()));
    }
    return worst;
  };
  SECTION("selective_log_softmax") {
    const double tau = 0.7;
    auto z = (at::randn({N, V}, at::kDouble) * 3).requires_grad_(true);
    auto [lp, ent] = grpo::torch::selective_log_softmax_with_entropy(z, y, tau);
    CHECK(lp.scalar_type() == at::kDouble);
    ((lp * g).sum() + (ent * gh).sum()).backward();
    auto zr = z.detach().clone().requires_grad_(true);
    auto [lpr, Hr] = reference_logprob(zr, y, tau);
    ((lpr * g).sum() + (Hr * gh).sum()).backward();
    CHECK((lp - lpr).abs().max().item<double>() < 1e-12);
    CHECK((ent - Hr).abs().max().item<double>() < 1e-12);
    CHECK((z.grad() - zr.grad()).abs().max().item<double>() < 1e-12);
    auto value = [&](const at::Tensor& x) {
      auto [a, b] = grpo::torch::selective_log_softmax_with_entropy(x, y, tau);
      return ((a * g).sum() + (b * gh).sum()).item<double>();
    };
    CHECK(fd_check(z, z.grad(), value) < 1e-7);
  }
  SECTION("fused_linear_logprob, in chunks") {
    grpo::logprob::fused_linear_options opt;
    opt.temperature = 0.75f;
    opt.token_chunk = 2;
    opt.vocab_chunk = 10;
    auto h = at::randn({N, H}, at::kDouble).requires_grad_(true);
    auto W = (at::randn({V, H}, at::kDouble) * 0.5).requires_grad_(true);
    auto [lp, ent] = grpo::torch::fused_linear_logprob_with_entropy(h, W, y, opt);
    CHECK(lp.scalar_type() == at::kDouble);
    ((lp * g).sum() + (ent * gh).sum()).backward();
    auto hr = h.detach().clone().requires_grad_(true), Wr = W.detach().clone().requires_grad_(true);
    auto [lpr, Hr] = reference_logprob(at::matmul(hr, Wr.t()), y, 0.75);
    ((lpr * g).sum() + (Hr * gh).sum()).backward();
    CHECK((lp - lpr).abs().max().item<double>() < 1e-12);
    CHECK((ent - Hr).abs().max().item<double>() < 1e-12);
    CHECK((h.grad() - hr.grad()).abs().max().item<double>() < 1e-12);
    CHECK((W.grad() - Wr.grad()).abs().max().item<double>() < 1e-12);
    auto value_h = [&](const at::Tensor& x) {
      auto [a, b] = grpo::torch::fused_linear_logprob_with_entropy(x, W.detach(), y, opt);
      return ((a * g).sum() + (b * gh).sum()).item<double>();
    };
    auto value_w = [&](const at::Tensor& x) {
      auto [a, b] = grpo::torch::fused_linear_logprob_with_entropy(h.detach(), x, y, opt);
      return ((a * g).sum() + (b * gh).sum()).item<double>();
    };
    CHECK(fd_check(h, h.grad(), value_h) < 1e-7);
    CHECK(fd_check(W, W.grad(), value_w) < 1e-7);
  }
}

TEST_CASE("torch log-prob ops: bad tensors and values are refused, naming the input", "[torch][logprob][errors]") {
  const auto z = at::randn({4, 10});
  const auto y = at::randint(0, 10, {4}, at::kLong);
  namespace gt = grpo::torch;
  check_error([&] { (void)gt::selective_log_softmax(z.to(at::kHalf), y); }, errc::bad_tensor, "logits",
              "dtype Half, expected Float or BFloat16 or Double");
  check_error([&] { (void)gt::selective_log_softmax(z, y.to(at::kInt)); }, errc::bad_tensor, "targets", "expected Long");
  check_error([&] { (void)gt::selective_log_softmax(z, at::zeros({5}, at::kLong)); }, errc::shape_mismatch, "targets",
              "shape [5], expected logits's leading dimensions [4, 10]");
  check_error([&] { (void)gt::selective_log_softmax(at::randn({10, 4}).t(), y); }, errc::bad_tensor, "logits",
              "not contiguous");
  check_error([&] { (void)gt::selective_log_softmax(z, at::tensor({0, 3, 10, 1}, at::kLong)); }, errc::out_of_range,
              "targets", "", 2);
  auto bad = z.clone();
  bad[2][4] = std::numeric_limits<float>::quiet_NaN();
  check_error([&] { (void)gt::selective_log_softmax(bad, y); }, errc::non_finite, "logits", "", 2 * 10 + 4);
  check_error([&] { (void)gt::selective_log_softmax(z, y, 0.0); }, errc::bad_config, "temperature", "");

  const auto h = at::randn({4, 6});
  check_error([&] { (void)gt::fused_linear_logprob(h, at::randn({10, 5}), y); }, errc::shape_mismatch, "weight",
              "expected [V, 6]");
  check_error([&] { (void)gt::fused_linear_logprob(h.to(at::kBFloat16), at::randn({10, 6}), y); }, errc::bad_tensor,
              "hidden", "expected Float or Double");
  check_error([&] { (void)gt::fused_linear_logprob(h.to(at::kDouble), at::randn({10, 6}), y); }, errc::bad_tensor,
              "weight", "dtype Float, expected Double");
  check_error([&] { (void)gt::fused_linear_logprob(h, at::randn({10, 6}), at::tensor({0, 1, 2, 10}, at::kLong)); },
              errc::out_of_range, "targets", "", 3);
}

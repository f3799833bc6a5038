// The solve loop: PDHG on min_x max_phi J(x) + <phi, K x - rhs>, with the
// dual step preconditioned by the Poisson operator K K^T (every method but
// Method::pdhg) or not, driven through the Backend
// steps. Certificates are computed on the host in double whenever the
// residual is small enough.
#include "core/solve_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "omtcore/errors.hpp"
#include "transforms/fft.hpp"

namespace omtcore::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kDefaultCheckEvery = 25;
constexpr double kCallbackSeconds = 0.1;
// Primal weight adaptation (PDLP, Applegate et al. 2021): every kWeightEvery
// iterations the step ratio moves halfway (in log) towards the ratio of dual to
// primal movement since the last update. It fixes the mass unit that no fixed
// scaling fits (point masses vs spread-out densities).
constexpr int kWeightEvery = 50;
constexpr double kWeightSmoothing = 0.5;
// Anisotropic (LP) loop: once the weight has turned back three times after
// moving by more than a factor kWeightSwing, it is oscillating, not drifting
// towards a balance, and the smoothing drops.
// Why: undamped, mass moved far keeps the weight swinging and never converges;
// the common inputs turn at most twice, and damping them sooner costs time
// (benchmarks/RESULTS.md,
// "2026-11-26 · 2-core CPU · blocks moved far and masked domains: the primal weight's control").
constexpr double kWeightSmoothingDamped = 0.2;
constexpr double kWeightSwing = 2.0;
constexpr int kWeightTurnsToDamp = 3;
// Bounds on the weight: once the primal iterate has converged its movement
// vanishes and the ratio grows without meaning, and the step sizes with it.
// Why per norm: isotropic, a range of 10 pins the weight and the lower bound
// lags; anisotropic (a degenerate LP), 100 lets the primal step shrink until
// the residual stalls (benchmarks/RESULTS.md,
// "2026-11-25 · 2-core CPU · moved from code comments").
// Only the upper bound of the anisotropic weight is 10: mass moved far
// through a narrow domain wants a small weight (long primal steps), hence
// the floor 0.01 (benchmarks/RESULTS.md,
// "2026-11-26 · 2-core CPU · blocks moved far and masked domains: the primal weight's control").
constexpr double kWeightRangeIsotropic = 100.0;
constexpr double kWeightRangeAnisotropic = 10.0;
constexpr double kWeightFloorAnisotropic = 0.01;
// Anisotropic (an LP): restarted Halpern iteration, z <- (k+1)/(k+2) T(z) +
// 1/(k+2) z0 with T one PDHG step and z0 the last restart point, as in
// restarted Halpern PDHG for LP (Lu and Yang 2024). Restart when the residual
// fell below kRestartDecay of its value at the last restart (PDLP's sufficient
// decay), or after kRestartShare of all iterations so far (PDLP's artificial
// restart). Why: without restarts compact shifts converge slowly or not at
// all; isotropic solves need more iterations with them, so that loop does not
// restart (benchmarks/RESULTS.md, "2026-11-25 · 2-core CPU · moved from code comments").
constexpr double kRestartDecay = 0.2;
constexpr double kRestartShare = 0.36;
constexpr std::int64_t kMinRestartEpoch = 50;
// Certificates (tree repair, Dijkstra-type sweeps) cost 4 to 120 iterations
// each: once the residual allows one, certify at checks only while the
// certificates' work stays below this share of the iterations'. Work, not
// time, so that the same input on the same backend gives the same answer
// from run to run (Bounds::work, Backend::iteration_work; benchmarks/RESULTS.md,
// "2026-12-02 · 2-core CPU · certificates scheduled by work, not time").
constexpr double kCertifyShare = 0.25;
// Devices run the steps asynchronously: the loop waits for them about this
// often, so that a callback, Ctrl-C or the time check sees the device's
// progress rather than how far ahead the host has queued work (on a slow
// device, 25 queued iterations of a large grid are seconds).
constexpr double kSyncSeconds = 0.02;
// The most iterations handed to the backend at once (Backend::iterate).
constexpr std::int64_t kMaxBatch = 32;

}  // namespace

const BackendEntry& pick_backend(const std::string& name) {
  const auto& registry = backend_registry();
  if (name == "auto") {
    for (const auto& entry : registry)
      if (entry.probe().available && (!entry.accelerates || entry.accelerates())) return entry;
    throw BackendUnavailableError("no backend is available");
  }
  for (const auto& entry : registry) {
    if (entry.name != name) continue;
    BackendInfo info = entry.probe();
    if (!info.available)
      throw BackendUnavailableError("backend '" + name + "' is unavailable: " + info.reason);
    return entry;
  }
  std::string known;
  for (const auto& entry : registry) known += (known.empty() ? "'" : ", '") + entry.name + "'";
  throw InvalidInputError("unknown backend '" + name + "'; known backends: 'auto', " + known);
}

std::string device_name(const BackendEntry& entry, const SolveOptions& options) {
  if (entry.device_name) return entry.device_name(options);
  BackendInfo info = entry.probe();
  std::size_t index = options.device < 0 ? 0 : static_cast<std::size_t>(options.device);
  return index < info.devices.size() ? info.devices[index] : "";
}


GridSetup grid_setup(const Domain& dom, double& h_ref, double& norm_bound) {
  GridSetup setup;
  setup.domain = &dom;
  std::array<std::int64_t, 3> rect = dom.n;
  for (int s = 0; s < dom.d; ++s) rect[s] = poisson_length(dom.n[s]);
  setup.poisson = PoissonGrid::over(dom.d, rect);
  const PoissonGrid& pg = setup.poisson;
  h_ref = 0;
  for (int s = 0; s < dom.d; ++s) h_ref = std::max(h_ref, dom.h[s]);
  const double pi = 3.14159265358979323846;
  norm_bound = 0;
  for (int s = 0; s < dom.d; ++s) {
    const double hs = dom.h[s] / h_ref;
    setup.inv_h[s] = 1.0 / hs;
    norm_bound += 4.0 / (hs * hs);
    // Eigenvalues of the 1D Neumann Laplacian, diagonalised by the DCT-II.
    auto& eig = setup.laplacian_eigenvalues[s];
    eig.resize(pg.n[s]);
    for (std::int64_t k = 0; k < pg.n[s]; ++k)
      eig[k] = (2.0 - 2.0 * std::cos(pi * double(k) / double(pg.n[s]))) / (hs * hs);
  }
  return setup;
}

namespace {

// One problem's part of the loop: its step sizes, primal weight and its
// control, restart state, bounds, and where it stands.
struct ProblemLoop {
  double mu = 1, tau = 1;
  double weight = 1.0;  // primal weight omega: mu = mu0 / omega, tau = tau0 * omega
  double smoothing = kWeightSmoothing;
  double swing = 0;  // the weight's change since it last changed direction, in log
  int turns = 0;     // direction changes after a swing beyond kWeightSwing
  // The best upper and lower bounds seen at any check: each is rigorous on
  // its own, so the reported bracket is the tightest pair (the lower bound
  // may be the largest of several such bounds). best_residual is the
  // residual of the iterate whose flux is kept.
  Bounds best;
  double best_residual = 0;
  std::int64_t epoch = 0;  // iterations since the last restart
  double restart_residual = INFINITY;
  bool done = false, stopped = false;
  std::int64_t iterations = 0;
  double gap() const { return best.distance > 0 ? (best.distance - best.lower_bound) / best.distance : 0.0; }
};

}  // namespace

void run_loop(Backend& backend, const std::vector<LoopSpec>& specs, const SolveOptions& options,
              std::int64_t max_iter, std::vector<Result>& results) {
  const std::size_t B = specs.size();
  const LoopSpec& shared = specs[0];  // lp, norm_bound and weight_range are the batch's
  const int check_every = options.check_every > 0 ? options.check_every : kDefaultCheckEvery;
  // Step sizes: the preconditioned operator P^{-1/2} K has norm 1, so
  // mu * tau < 1 holds with mu = 1, tau = 0.99; plain PDHG needs
  // mu * tau * ||K||^2 < 1 and takes equal steps.
  const bool preconditioned = options.method != Method::pdhg;
  const bool adaptive = options.method == Method::automatic || options.method == Method::adaptive;
  const double mu0 = preconditioned ? 1.0 : std::sqrt(0.99 / shared.norm_bound);
  const double tau0 = preconditioned ? 0.99 : std::sqrt(0.99 / shared.norm_bound);
  const double step_product = mu0 * tau0;
  const double weight_max =
      shared.weight_range > 0 ? shared.weight_range : shared.lp ? kWeightRangeAnisotropic : kWeightRangeIsotropic;
  const double weight_min = shared.weight_range > 0 ? 1.0 / shared.weight_range
                            : shared.lp              ? kWeightFloorAnisotropic
                                                     : 1.0 / kWeightRangeIsotropic;
  const bool halpern = adaptive && shared.lp;

  std::vector<ProblemLoop> state(B);
  for (ProblemLoop& p : state) {
    p.mu = mu0;
    p.tau = tau0;
    p.best.target_gap = options.tol;
  }
  auto absorb = [&](std::size_t b, double res) {
    if (specs[b].certify(state[b].best).upper) state[b].best_residual = res;
  };
  auto finish_problem = [&](std::size_t b, std::int64_t it) {
    state[b].done = true;
    state[b].iterations = it;
    if (specs[b].finished) specs[b].finished();
  };
  auto residuals = [&] {
    std::vector<double> r = backend.residual_l1();
    for (std::size_t b = 0; b < B; ++b) r[b] *= specs[b].residual_scale;
    return r;
  };

  backend.save_anchor();  // the start may be warm (multilevel.hpp)
  if (halpern)
    for (std::size_t b = 0; b < B; ++b) backend.save_restart_point(int(b));
  std::int64_t it = 0;
  std::int64_t sync_every = 1, since_sync = 0;
  auto last_sync = Clock::now();
  auto last_callback = Clock::now();
  // Certificates are due while their work so far stays within a share of
  // the iterations' (both in Bounds::work's unit), for each problem alike.
  const double iteration_work = backend.iteration_work();
  auto certificate_due = [&](std::size_t b) {
    return state[b].best.work <= kCertifyShare * double(it) * iteration_work;
  };

  // Problems that are done before the first step: a == b, a callback's stop
  // during the warm start, a given start that meets the tolerance.
  bool any_start = false;
  for (const LoopSpec& spec : specs) any_start = any_start || (!spec.trivial && (spec.stopped_before_start || spec.certify_start));
  const std::vector<double> start_residual = any_start ? residuals() : std::vector<double>(B, 0.0);
  for (std::size_t b = 0; b < B; ++b) {
    const LoopSpec& spec = specs[b];
    if (spec.trivial) {
      absorb(b, 0.0);
      finish_problem(b, 0);
    } else if (spec.stopped_before_start) {
      absorb(b, start_residual[b]);
      state[b].stopped = true;
      finish_problem(b, 0);
    } else if (spec.certify_start && start_residual[b] <= options.tol) {
      absorb(b, start_residual[b]);
      if (state[b].gap() <= options.tol && state[b].best_residual <= options.tol) finish_problem(b, 0);
    }
  }

  Steps steps;
  steps.preconditioned = preconditioned;
  steps.halpern = halpern;
  steps.mu.resize(B);
  steps.tau.resize(B);
  steps.lambda.reserve(kMaxBatch * B);  // nothing is allocated inside the loop
  auto active = [&] {
    for (const ProblemLoop& p : state)
      if (!p.done) return true;
    return false;
  };
  // next_multiple(m): the first multiple of m after iteration `it`.
  auto next_multiple = [&](std::int64_t m) { return (it / m + 1) * m; };
  for (it = 0; it < max_iter && active();) {
    // The iterations up to the next event (a check, a weight update, a
    // wait for the device), run as one batch: the same steps, in the same
    // order, as one at a time.
    const std::int64_t stop =
        std::min({max_iter, next_multiple(check_every), adaptive ? next_multiple(kWeightEvery) : max_iter,
                  it + std::max<std::int64_t>(sync_every - since_sync, 1), it + kMaxBatch});
    steps.count = int(stop - it);
    steps.lambda.assign(std::size_t(steps.count) * B, 1.0);
    for (std::size_t b = 0; b < B; ++b) {
      ProblemLoop& p = state[b];
      steps.mu[b] = p.done ? 0.0 : p.mu;  // 0: stopped (Steps)
      steps.tau[b] = p.done ? 0.0 : p.tau;
      if (!halpern || p.done) continue;
      // Halpern weight (k+1)/(k+2), k = iterations since the restart; 1 is plain PDHG.
      for (int j = 0; j < steps.count; ++j, ++p.epoch)
        steps.lambda[std::size_t(j) * B + b] = double(p.epoch + 1) / double(p.epoch + 2);
    }
    backend.iterate(steps);
    since_sync += stop - it;
    it = stop;
    if (since_sync >= sync_every) {
      backend.finish();
      const auto now = Clock::now();
      const double per_iteration = std::chrono::duration<double>(now - last_sync).count() / double(since_sync);
      sync_every = per_iteration > 0 ? std::clamp<std::int64_t>(std::int64_t(kSyncSeconds / per_iteration), 1, 1 << 20) : 1;
      since_sync = 0;
      last_sync = now;
    }
    if (adaptive && it % kWeightEvery == 0) {
      // Adaptive primal weight (as in PDLP): balance primal and dual movement.
      const std::vector<std::array<double, 2>> moved = backend.anchor_distances();
      for (std::size_t b = 0; b < B; ++b) {
        ProblemLoop& p = state[b];
        const auto [dx2, dy2] = moved[b];
        if (p.done || !(dx2 > 0 && dy2 > 0 && std::isfinite(dx2) && std::isfinite(dy2))) continue;
        const double before = std::log(p.weight);
        p.weight = std::exp(p.smoothing * 0.5 * std::log(dy2 / dx2) + (1 - p.smoothing) * before);
        p.weight = std::clamp(p.weight, weight_min, weight_max);
        const double move = std::log(p.weight) - before;
        if (move * p.swing < 0) {  // turned back
          if (std::fabs(p.swing) > std::log(kWeightSwing) && ++p.turns >= kWeightTurnsToDamp && halpern)
            p.smoothing = kWeightSmoothingDamped;
          p.swing = move;
        } else {
          p.swing += move;
        }
        p.mu = std::sqrt(step_product) / p.weight;
        p.tau = std::sqrt(step_product) * p.weight;
      }
      backend.save_anchor();
    }
    const bool check = it % check_every == 0 || it == max_iter;
    const bool timed = options.callback &&
                       std::chrono::duration<double>(Clock::now() - last_callback).count() >= kCallbackSeconds;
    if (!check && !timed) continue;
    const std::vector<double> residual = residuals();
    if (options.callback) last_callback = Clock::now();
    bool stop_all = false;
    for (std::size_t b = 0; b < B && !stop_all; ++b) {
      ProblemLoop& p = state[b];
      if (p.done) continue;
      if (halpern && check &&
          (residual[b] <= kRestartDecay * p.restart_residual ||
           p.epoch >= std::max(kMinRestartEpoch, std::int64_t(kRestartShare * double(it))))) {
        backend.save_restart_point(int(b));
        p.epoch = 0;
        p.restart_residual = residual[b];
      }
      if (check && ((residual[b] <= options.tol && certificate_due(b)) || it == max_iter)) {
        absorb(b, residual[b]);
        if (p.gap() <= options.tol && p.best_residual <= options.tol) {
          finish_problem(b, it);
          continue;
        }
      }
      if (options.callback) {
        Progress progress{it, std::isfinite(p.best.distance) ? p.gap() : 1.0, residual[b]};
        progress.problem = specs[b].problem;
        stop_all = !options.callback(progress, options.callback_data);
      }
    }
    if (stop_all) {  // the callback stops every problem of the batch
      for (std::size_t b = 0; b < B; ++b) {
        if (state[b].done) continue;
        state[b].stopped = true;
        if (!std::isfinite(state[b].best.distance)) absorb(b, residual[b]);
        finish_problem(b, it);
      }
    }
  }

  for (std::size_t b = 0; b < B; ++b) {
    ProblemLoop& p = state[b];
    if (!p.done) p.iterations = it;
    if (!std::isfinite(p.best.distance))
      throw Error(ErrorKind::internal, "the iteration produced no finite iterate to certify (" +
                                           std::to_string(p.iterations) + " iterations)");
    Result& result = results[b];
    result.distance = p.best.distance;
    result.lower_bound = p.best.lower_bound;
    result.gap = p.gap();
    result.residual = p.best_residual;
    result.flux = std::move(p.best.flux);
    result.exchange = std::move(p.best.exchange);
    result.potential = std::move(p.best.potential);
    result.iterations = p.iterations;
    result.stopped_by_callback = p.stopped;
    result.converged = result.gap <= options.tol && result.residual <= options.tol;
  }
}

}  // namespace omtcore::detail

// Scalar OMT: validation, solver units, the backend's setup, and the
// certificate of the iterate; the loop itself is in solve_loop.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/certificate.hpp"
#include "core/multilevel.hpp"
#include "core/prepare.hpp"
#include "core/solve_loop.hpp"
#include "omtcore/errors.hpp"
#include "omtcore/solve.hpp"

namespace omtcore {

using Clock = std::chrono::steady_clock;

std::int64_t default_max_iter(const Grid& grid) {
  std::int64_t longest = 1;
  for (auto n : grid.shape) longest = std::max(longest, n);
  return 10000 + 100 * longest;
}

Result solve(const ScalarProblem& problem, const SolveOptions& options) {
  const auto start = Clock::now();
  detail::check_options(options);
  const detail::PreparedScalar prep = detail::prepare_scalar(problem);
  const detail::BackendEntry& entry = detail::pick_backend(options.backend);
  const detail::Domain& dom = prep.domain;
  const std::int64_t n = dom.cells;

  Result result;
  result.backend = entry.name;
  result.dtype = to_string(options.dtype);
  result.method = to_string(options.method);
  const std::int64_t max_iter = options.max_iter > 0 ? options.max_iter : default_max_iter(problem.grid);

  // Solver units: masses scaled so that a - b is about 1 per cell of its
  // effective support (scale ||a - b||_1 / ||a - b||_2^2: N / mass for noise,
  // 1 / mass for point masses), spacing scaled so that the largest is 1 (the
  // problem is homogeneous in h). The iterate is v_s = h_s F_s in these units.
  double l1 = 0, l2 = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double r = prep.net(i);
    l1 += std::fabs(r);
    l2 += r * r;
  }
  const double mass_scale = l2 > 0 ? l1 / l2 : 1.0;
  double h_ref = 1, norm_bound = 1;
  detail::ScalarSetup setup = detail::grid_setup(dom, h_ref, norm_bound);
  setup.isotropic = prep.norm == Norm::isotropic;
  setup.rhs.resize(n);
  bool trivial = true;
  for (std::int64_t i = 0; i < n; ++i) {
    const double r = prep.net(i);
    setup.rhs[i] = mass_scale * r;
    trivial = trivial && r == 0;
  }
  std::unique_ptr<detail::Backend> backend = entry.make_scalar(setup, options);
  result.device = detail::device_name(entry, options);
  // The backend holds its own copy of the right-hand side; its array (cells
  // doubles) becomes the certificates' candidate potential below, so that
  // nothing grid-sized is freed here for the coarse solves to fragment.
  std::vector<double> candidate_buffer = std::move(setup.rhs);
  // The multilevel warm start (multilevel.hpp), converted to solver units as
  // the iterate read back in `certify`, inversely. Solved once this grid's
  // backend exists: the coarse grids need a third of its memory, and what
  // they free is reused by this grid's certificates, so the peak is lower
  // this way round (benchmarks/RESULTS.md, "2026-11-26 · 2-core CPU · multilevel warm start").
  std::optional<detail::CoarseSolution> coarse = detail::solve_coarse(prep, options);

  detail::LoopSpec spec;
  spec.lp = !setup.isotropic;
  spec.norm_bound = norm_bound;
  spec.residual_scale = prep.total_mass > 0 ? 1.0 / (mass_scale * prep.total_mass) : 0.0;
  spec.trivial = trivial;
  // The iterate is read and certified into buffers reused by every
  // certificate (Bounds hands back the loser's arrays): a large solve does
  // not allocate grid-sized arrays again at each certificate.
  std::vector<double> flux_buffer, potential_buffer;
  spec.certify = [&](detail::Bounds& bounds) {
    detail::Improved improved;
    backend->read_flux(flux_buffer);
    for (int s = 0; s < dom.d; ++s) {
      const double to_user = 1.0 / (mass_scale * dom.h[s] / h_ref);  // F = v / (c h_s)
      for (std::int64_t i = 0; i < n; ++i) flux_buffer[s * n + i] *= to_user;
    }
    improved.upper = detail::certify_flux(prep, flux_buffer, bounds);
    backend->read_potential(potential_buffer);
    for (std::int64_t i = 0; i < n; ++i) potential_buffer[i] *= h_ref;
    improved.lower = detail::certify_potential(prep, potential_buffer, candidate_buffer, bounds);
    return improved;
  };
  detail::start_from_coarse(coarse, *backend, 1, 0, [&](detail::Backend::Slice slice, int s) {
    return slice == detail::Backend::Slice::flux ? mass_scale * dom.h[s] / h_ref : 1.0 / h_ref;
  }, result, spec);
  detail::run_loop(*backend, spec, options, max_iter, result);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace omtcore

// Vector and matrix OMT: validation (fields.cpp), solver units, the backend's
// FieldSetup, certificates, and the conversion of the result to the public
// layouts (omtcore/types.hpp). The loop itself is in solve_loop.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "core/certificate_fields.hpp"
#include "core/fields.hpp"
#include "core/multilevel.hpp"
#include "core/prepare.hpp"
#include "core/solve_loop.hpp"
#include "omtcore/errors.hpp"
#include "omtcore/solve.hpp"

namespace omtcore {

namespace {

using Clock = std::chrono::steady_clock;

// Plane layout -> the user's layouts (channel or matrix axes last).
void to_user_layout(const detail::PreparedField& f, Result& r) {
  const std::int64_t n = f.domain.cells;
  const int d = f.domain.d, P = f.planes, k = f.k;
  auto cell_values = [&](const std::vector<double>& planes, std::int64_t fields, auto index) {
    // fields: how many (component) groups of P planes; index(g, p) is the plane.
    std::vector<double> out;
    if (!f.matrix) {
      out.resize(std::size_t(fields) * n * P);
      for (std::int64_t g = 0; g < fields; ++g)
        for (std::int64_t i = 0; i < n; ++i)
          for (int p = 0; p < P; ++p) out[(g * n + i) * P + p] = planes[index(g, p) * n + i];
    } else {
      const std::size_t mat = 2 * std::size_t(k) * k;
      out.resize(std::size_t(fields) * n * mat);
      std::vector<double> coords(P);
      for (std::int64_t g = 0; g < fields; ++g)
        for (std::int64_t i = 0; i < n; ++i) {
          for (int p = 0; p < P; ++p) coords[p] = planes[index(g, p) * n + i];
          detail::coords_to_matrix(k, coords.data(), &out[(g * n + i) * mat]);
        }
    }
    return out;
  };
  if (!r.flux.empty())
    r.flux = cell_values(r.flux, d, [&](std::int64_t s, int p) { return std::int64_t(p) * d + s; });
  if (!r.potential.empty())
    r.potential = cell_values(r.potential, 1, [](std::int64_t, int p) { return std::int64_t(p); });
  if (f.matrix) {
    if (!r.exchange.empty())
      r.exchange = cell_values(r.exchange, f.blocks, [&](std::int64_t l, int p) { return l * P + p; });
  }  // vector exchange (n_edges, cells) is already the user's layout
}

Result solve_field(const detail::PreparedField& f, const Grid& grid, const SolveOptions& options,
                   Clock::time_point start, bool user_layout = true);

// The coarse level of a field problem solved, in plane layout (multilevel.hpp).
std::optional<detail::CoarseSolution> solve_coarse(const detail::PreparedField& f, const SolveOptions& options) {
  if (options.method != Method::automatic || f.total_mass <= 0) return std::nullopt;
  std::optional<detail::Coarsening> coarse = detail::Coarsening::of(f.domain);
  if (!coarse) return std::nullopt;
  const std::int64_t n = f.domain.cells, nc = coarse->cells();
  std::vector<double> rhs(std::size_t(f.planes) * nc);
  for (int p = 0; p < f.planes; ++p) {
    const double* plane = f.rhs.data() + std::size_t(p) * n;
    coarse->restrict_sum([&](std::int64_t i) { return plane[i]; }, rhs.data() + std::size_t(p) * nc);
  }
  double fine_l1 = 0, coarse_l1 = 0;
  for (double r : f.rhs) fine_l1 += std::fabs(r);
  for (double r : rhs) coarse_l1 += std::fabs(r);
  if (fine_l1 == 0 || !detail::coarse_level_pays(fine_l1, coarse_l1)) return std::nullopt;
  // Everything but the grid and a - b is per cell or per problem, the same on both grids.
  detail::PreparedField cf = f;
  cf.domain = detail::Domain::build(coarse->grid(), coarse->mask());
  cf.rhs = std::move(rhs);
  const detail::CoarseOptions coarse_options(options, nc);
  Result result = solve_field(cf, coarse->grid(), coarse_options.options, Clock::now(), false);
  return detail::CoarseSolution{std::move(*coarse), std::move(result)};
}

Result solve_field(const detail::PreparedField& f, const Grid& grid, const SolveOptions& options,
                   Clock::time_point start, bool user_layout) {
  const detail::BackendEntry& entry = detail::pick_backend(options.backend);
  if (!entry.make_field)
    throw BackendUnavailableError("backend '" + entry.name + "' does not solve vector or matrix problems yet");
  const detail::Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes, m = f.block_size, cols = f.blocks * f.block_size;

  Result result;
  result.backend = entry.name;
  result.dtype = to_string(options.dtype);
  result.method = to_string(options.method);
  const std::int64_t max_iter = options.max_iter > 0 ? options.max_iter : default_max_iter(grid);

  // Solver units as for scalars (solve_scalar.cpp); the exchange variable of
  // block b is x = c sigma_b G, its cost threshold_b |x| with threshold_b =
  // cost_b / (h_ref sigma_b). sigma_b = sqrt(max(1, cost_b / h_ref)), a
  // diagonal preconditioning. Why the square root: sigma = cost/h stalls for
  // small alpha and sigma = 1 is slow for large alpha; the square root keeps
  // both in range (benchmarks/RESULTS.md, "2026-11-25 · 2-core CPU · moved from code comments").
  double l1 = 0, l2 = 0;
  for (double r : f.rhs) {
    l1 += std::fabs(r);
    l2 += r * r;
  }
  const double mass_scale = l2 > 0 ? l1 / l2 : 1.0;
  double h_ref = 1, norm_bound = 1;
  detail::FieldSetup setup;
  setup.grid = detail::grid_setup(dom, h_ref, norm_bound);
  setup.planes = P;
  setup.k = f.k;
  setup.spatial = f.spatial;
  setup.exchange = f.exchange;
  setup.blocks = f.blocks;
  setup.block_size = m;
  setup.nuclear_residual = f.matrix;
  std::vector<double> sigma(f.blocks);
  setup.threshold.resize(f.blocks);
  for (int b = 0; b < f.blocks; ++b) {
    sigma[b] = std::sqrt(std::max(1.0, f.cost[b] / h_ref));
    setup.threshold[b] = f.cost[b] / h_ref / sigma[b];
  }
  setup.coupling.resize(f.coupling.size());
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < cols; ++q) setup.coupling[p * cols + q] = f.coupling[p * cols + q] / sigma[q / m];
  {
    detail::coupling_modes(P, cols, setup.coupling, setup.shift, setup.modes);
    // Null modes (one per conserved direction) come out as rounding noise of
    // either sign; they must be exactly 0, or the constant spatial mode of
    // the residual, which is rounding noise too, gets divided by ~1e-16.
    const double top = setup.shift.empty() ? 0.0 : setup.shift.back();
    for (double& s : setup.shift) s = s > 1e-10 * top ? s : 0.0;
    norm_bound += setup.shift.empty() ? 0.0 : setup.shift.back();
  }
  setup.rhs.resize(f.rhs.size());
  bool trivial = true;
  for (std::size_t e = 0; e < f.rhs.size(); ++e) {
    setup.rhs[e] = mass_scale * f.rhs[e];
    trivial = trivial && f.rhs[e] == 0;
  }

  std::unique_ptr<detail::Backend> backend = entry.make_field(setup, options);
  result.device = detail::device_name(entry, options);
  std::vector<double>().swap(setup.rhs);
  // The multilevel warm start, as for scalar problems (solve_scalar.cpp).
  std::optional<detail::CoarseSolution> coarse = solve_coarse(f, options);

  detail::LoopSpec spec;
  spec.lp = f.spatial == detail::SpatialProx::soft && f.exchange == detail::ExchangeProx::soft;
  spec.norm_bound = norm_bound;
  // Vector problems keep the primal weight within [1/10, 10]. Why: with the
  // scalar isotropic range of 100 the weight of isotropic RGB solves fell low
  // and oscillated, and the residual with it. Matrix problems keep 100: 10
  // slows them, and none oscillated with 100 (benchmarks/RESULTS.md,
  // "2026-11-25 · 2-core CPU · vector (RGB) and matrix OMT, float32, gap 1e-4").
  spec.weight_range = f.matrix ? 0.0 : 10.0;
  spec.residual_scale = f.total_mass > 0 ? 1.0 / (mass_scale * f.total_mass) : 0.0;
  spec.trivial = trivial;
  spec.certify = [&](detail::Bounds& bounds) {
    std::vector<double> flux, potential, exchange;
    backend->read_state(flux, potential);
    backend->read_exchange(exchange);
    for (int p = 0; p < P; ++p)
      for (int s = 0; s < dom.d; ++s) {
        const double to_user = 1.0 / (mass_scale * dom.h[s] / h_ref);
        double* plane = flux.data() + (std::size_t(p) * dom.d + s) * n;
        for (std::int64_t i = 0; i < n; ++i) plane[i] *= to_user;
      }
    for (int q = 0; q < cols; ++q) {
      const double to_user = 1.0 / (mass_scale * sigma[q / m]);
      double* plane = exchange.data() + std::size_t(q) * n;
      for (std::int64_t i = 0; i < n; ++i) plane[i] *= to_user;
    }
    for (double& x : potential) x *= h_ref;
    return detail::certify_field(f, std::move(flux), std::move(exchange), std::move(potential), bounds);
  };
  detail::start_from_coarse(coarse, *backend, P, cols, [&](detail::Backend::Slice slice, int index) {
    switch (slice) {
      case detail::Backend::Slice::flux: return mass_scale * dom.h[index % dom.d] / h_ref;
      case detail::Backend::Slice::exchange: return mass_scale * sigma[index / m];
      default: return 1.0 / h_ref;
    }
  }, result, spec);
  detail::run_loop(*backend, spec, options, max_iter, result);
  if (user_layout) to_user_layout(f, result);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace

Result solve(const VectorProblem& problem, const SolveOptions& options) {
  const auto start = Clock::now();
  detail::check_options(options);
  const detail::PreparedField f = detail::prepare_vector(problem);
  return solve_field(f, problem.grid, options, start);
}

Result solve(const MatrixProblem& problem, const SolveOptions& options) {
  const auto start = Clock::now();
  detail::check_options(options);
  const detail::PreparedField f = detail::prepare_matrix(problem);
  return solve_field(f, problem.grid, options, start);
}

}  // namespace omtcore

// Every problem kind through one driver: validation (prepare.cpp,
// prepare_matrix.cpp) into the one problem form (problem.hpp), solver units,
// the backend's ProblemSetup, the multilevel warm start, certificates, and
// the conversion of the result to the public layouts (omtcore/types.hpp).
// The loop itself is in solve_loop.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/certificate.hpp"
#include "core/host_memory.hpp"
#include "core/multilevel.hpp"
#include "core/problem.hpp"
#include "core/solve_loop.hpp"
#include "omtcore/errors.hpp"
#include "omtcore/solve.hpp"

namespace omtcore {

std::int64_t default_max_iter(const Grid& grid) {
  std::int64_t longest = 1;
  for (auto n : grid.shape) longest = std::max(longest, n);
  return 10000 + 100 * longest;
}

std::vector<std::int32_t> domain_parts(const Grid& grid, const std::uint8_t* mask) {
  const detail::Domain dom = detail::Domain::build(grid, mask);
  std::vector<std::int32_t> parts(std::size_t(dom.cells));
  for (std::int64_t i = 0; i < dom.cells; ++i) parts[i] = dom.part_of(i);
  return parts;
}

namespace {

using Clock = std::chrono::steady_clock;

// Plane layout -> the user's layouts (channel or matrix axes last).
void to_user_layout(const detail::Problem& f, Result& r) {
  const std::int64_t n = f.domain.cells;
  const int d = f.domain.d, P = f.planes, k = f.k;
  auto cell_values = [&](const std::vector<double>& planes, std::int64_t fields, auto index) {
    // fields: how many (component) groups of P planes; index(g, p) is the plane.
    std::vector<double> out;
    if (f.kind != detail::Kind::matrix) {
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
  if (!r.source.empty())
    r.source = cell_values(r.source, 1, [](std::int64_t, int p) { return std::int64_t(p); });
  if (f.kind == detail::Kind::matrix) {
    if (!r.exchange.empty())
      r.exchange = cell_values(r.exchange, f.blocks - f.source_blocks, [&](std::int64_t l, int p) { return l * P + p; });
  }  // vector exchange (n_edges, cells) is already the user's layout
}

// Unbalanced problems: the source columns (the last ones) move from the
// exchange into Result::source, plane layout (planes, cells).
void split_source(const detail::Problem& f, Result& r) {
  const std::size_t n = std::size_t(f.domain.cells), first = std::size_t(f.source_column()) * n;
  r.source.assign(r.exchange.begin() + first, r.exchange.end());
  r.exchange.resize(first);
}

// The user's layouts -> plane layout (the inverse of to_user_layout), for a
// warm start: sizes checked, masses divided by the solve's unit, values on
// faces and cells outside the domain dropped.
detail::InitialIterate from_user_layout(const detail::Problem& f, const Result& r) {
  const detail::Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int d = dom.d, P = f.planes, k = f.k;
  const bool matrix = f.kind == detail::Kind::matrix;
  const std::size_t per_cell = matrix ? 2 * std::size_t(k) * k : std::size_t(P);
  const char* kind = matrix ? "matrix" : f.kind == detail::Kind::vector ? "vector" : "scalar";
  auto planes = [&](const std::vector<double>& values, std::int64_t fields, const char* name, auto index,
                    auto keep) {
    const std::size_t expected = std::size_t(fields) * n * per_cell;
    if (values.size() != expected)
      throw InvalidInputError(std::string("the warm start (init, SolveOptions::initial): its ") + name + " has " + std::to_string(values.size()) +
                              " values, but this " + kind + " problem's has " + std::to_string(expected) +
                              " (a warm start needs a result of the same kind, grid and size)");
    std::vector<double> out(std::size_t(fields) * P * n, 0.0), coords(P);
    for (std::int64_t g = 0; g < fields; ++g)
      for (std::int64_t i = 0; i < n; ++i) {
        if (!keep(g, i)) continue;
        const double* cell = &values[(g * n + i) * per_cell];
        if (matrix) detail::matrix_to_coords(k, cell, coords.data());
        for (int p = 0; p < P; ++p) out[index(g, p) * n + i] = matrix ? coords[p] : cell[p];
      }
    return out;
  };
  auto inside = [&](std::int64_t, std::int64_t i) { return dom.part_of(i) >= 0; };
  auto active_face = [&](std::int64_t s, std::int64_t i) { return (dom.bits[i] & (1u << s)) != 0; };
  detail::InitialIterate init;
  init.flux = planes(r.flux, d, "flux", [&](std::int64_t s, int p) { return std::int64_t(p) * d + s; }, active_face);
  init.potential = planes(r.potential, 1, "potential", [](std::int64_t, int p) { return std::int64_t(p); }, inside);
  const int exchange_blocks = f.blocks - f.source_blocks;
  if (matrix) {
    init.exchange = planes(r.exchange, exchange_blocks, "exchange", [&](std::int64_t l, int p) { return l * P + p; }, inside);
  } else {  // vector exchange (n_edges, cells) is already plane layout; scalar: none
    const std::size_t expected = std::size_t(f.source_column()) * n;
    if (r.exchange.size() != expected)
      throw InvalidInputError("the warm start (init, SolveOptions::initial): its exchange has " + std::to_string(r.exchange.size()) + " values, but this " +
                              kind + " problem's has " + std::to_string(expected) +
                              " (a warm start needs a result of the same kind, grid and size)");
    init.exchange = r.exchange;
    for (int q = 0; q < f.source_column(); ++q)
      for (std::int64_t i = 0; i < n; ++i)
        if (dom.part_of(i) < 0) init.exchange[std::size_t(q) * n + i] = 0;
  }
  if (f.unbalanced()) {  // the source columns last; a balanced start's source is 0
    std::vector<double> source(std::size_t(P) * n, 0.0);
    if (!r.source.empty())
      source = planes(r.source, 1, "source", [](std::int64_t, int p) { return std::int64_t(p); }, inside);
    init.exchange.insert(init.exchange.end(), source.begin(), source.end());
  }
  for (double& x : init.flux) x /= f.unit;
  for (double& x : init.exchange) x /= f.unit;
  return init;
}

// Back from the solve's unit of mass (exact: a power of two).
void to_caller_unit(const detail::Problem& f, Result& result) {
  if (f.unit == 1) return;
  result.distance *= f.unit;
  result.lower_bound *= f.unit;
  for (double& x : result.flux) x *= f.unit;
  for (double& x : result.exchange) x *= f.unit;
  for (double& x : result.source) x *= f.unit;
}

}  // namespace

namespace detail {

bool same_operator(const Problem& x, const Problem& y) {
  const Domain &p = x.domain, &q = y.domain;
  return x.kind == y.kind && x.k == y.k && x.planes == y.planes && x.spatial == y.spatial &&
         x.exchange == y.exchange && x.blocks == y.blocks && x.block_size == y.block_size && x.lam == y.lam &&
         x.source_blocks == y.source_blocks && x.coupling == y.coupling && x.cost == y.cost && p.d == q.d &&
         p.n == q.n && p.h == q.h && p.bits == q.bits && p.inside == q.inside;
}

std::vector<Result> solve_together(const std::vector<const Problem*>& problems, const SolveOptions& options,
                                   const std::vector<const Result*>& initial, PreparedBatch batch) {
  std::vector<InitialIterate> starts(initial.empty() ? 0 : problems.size());
  for (std::size_t b = 0; b < starts.size(); ++b)
    if (initial[b]) starts[b] = from_user_layout(*problems[b], *initial[b]);
  if (!starts.empty())
    for (std::size_t b = 0; b < problems.size(); ++b) batch.initial.push_back(initial[b] ? &starts[b] : nullptr);
  std::vector<Result> results = solve_prepared(problems, options, true, batch);
  for (std::size_t b = 0; b < problems.size(); ++b) to_caller_unit(*problems[b], results[b]);
  return results;
}

void check_warm_start(const Problem& problem, const Result& start) { (void)from_user_layout(problem, start); }

std::vector<Result> solve_prepared(const std::vector<const Problem*>& problems, const SolveOptions& options,
                                   bool user_layout, const PreparedBatch& batch) {
  const auto start = Clock::now();
  const BackendEntry& entry = pick_backend(options.backend);
  const std::size_t B = problems.size();
  const Problem& f = *problems[0];  // everything but a - b is every problem's (same_operator)
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes, m = f.block_size, cols = f.blocks * f.block_size;
  auto initial = [&](std::size_t b) { return batch.initial.empty() ? nullptr : batch.initial[b]; };

  std::vector<Result> results(B);
  for (Result& result : results) {
    result.backend = entry.name;
    result.dtype = to_string(options.dtype);
    result.method = to_string(options.method);
  }
  Grid grid;
  for (int s = 0; s < dom.d; ++s) grid.shape.push_back(dom.n[s]);
  const std::int64_t max_iter = options.max_iter > 0 ? options.max_iter : default_max_iter(grid);

  // Solver units: masses scaled so that a - b is about 1 per cell of its
  // effective support (scale ||a - b||_1 / ||a - b||_2^2: N / mass for noise,
  // 1 / mass for point masses), spacing scaled so that the largest is 1 (the
  // problem is homogeneous in h). The iterate is v_s = h_s F_s in these
  // units, the potential phi / h_ref. The exchange variable of
  // block b is x = c sigma_b G, its cost threshold_b |x| with threshold_b =
  // cost_b / (h_ref sigma_b). sigma_b = sqrt(max(1, cost_b / h_ref)), a
  // diagonal preconditioning. Why the square root: sigma = cost/h stalls for
  // small alpha and sigma = 1 is slow for large alpha; the square root keeps
  // both in range (benchmarks/RESULTS.md, "2026-11-25 · 2-core CPU · moved from code comments").
  std::vector<double> mass_scale(B);
  std::vector<char> trivial(B, 1);
  for (std::size_t b = 0; b < B; ++b) {
    double l1 = 0, l2 = 0;
    for (int p = 0; p < P; ++p)
      for (std::int64_t i = 0; i < n; ++i) {
        const double r = problems[b]->net(p, i);
        l1 += std::fabs(r);
        l2 += r * r;
      }
    mass_scale[b] = l2 > 0 ? l1 / l2 : 1.0;
  }
  double h_ref = 1, norm_bound = 1;
  ProblemSetup setup;
  setup.grid = grid_setup(dom, h_ref, norm_bound);
  setup.planes = P;
  setup.problems = int(B);
  setup.k = f.k;
  setup.spatial = f.spatial;
  setup.exchange = f.exchange;
  setup.blocks = f.blocks;
  setup.block_size = m;
  setup.nuclear_residual = f.kind == Kind::matrix;
  std::vector<double> sigma(f.blocks);
  setup.threshold.resize(f.blocks);
  for (int b = 0; b < f.blocks; ++b) {
    // The source blocks of unbalanced problems: the fourth root, whose worst
    // case measured far below the square root's (benchmarks/RESULTS.md,
    // "2026-12-03 · 2-core CPU · unbalanced transport").
    const bool source = b >= f.blocks - f.source_blocks;
    sigma[b] = std::pow(std::max(1.0, f.cost[b] / h_ref), source ? 0.25 : 0.5);
    setup.threshold[b] = f.cost[b] / h_ref / sigma[b];
  }
  setup.coupling.resize(f.coupling.size());
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < cols; ++q) setup.coupling[p * cols + q] = f.coupling[p * cols + q] / sigma[q / m];
  {
    coupling_modes(P, cols, setup.coupling, setup.shift, setup.modes);
    // Null modes (one per conserved direction) come out as rounding noise of
    // either sign; they must be exactly 0, or the constant spatial mode of
    // the residual, which is rounding noise too, gets divided by ~1e-16.
    const double top = setup.shift.empty() ? 0.0 : setup.shift.back();
    for (double& s : setup.shift) s = s > 1e-10 * top ? s : 0.0;
    norm_bound += setup.shift.empty() ? 0.0 : setup.shift.back();
  }
  setup.rhs.resize(B * std::size_t(P) * n);
  for (std::size_t b = 0; b < B; ++b)
    for (int p = 0; p < P; ++p)
      for (std::int64_t i = 0; i < n; ++i) {
        const double r = problems[b]->net(p, i);
        setup.rhs[(b * P + p) * n + i] = mass_scale[b] * r;
        trivial[b] = trivial[b] && r == 0;
      }

  std::unique_ptr<Backend> backend = entry.make(setup, options);
  const std::string device = device_name(entry, options);
  for (Result& result : results) result.device = device;
  // The backend holds its own copy of the right-hand side; its array becomes
  // the certificates' scratch below, so that nothing grid-sized is freed
  // here for the coarse solves to fragment.
  std::vector<double> scratch = std::move(setup.rhs);
  if (f.kind != Kind::scalar)
    std::vector<double>().swap(scratch);  // only the scalar certificate uses it
  else if (B > 1)
    std::vector<double>(std::size_t(n)).swap(scratch);  // one problem's worth, not the batch's
  // The multilevel warm start (multilevel.hpp). Solved once this grid's
  // backend exists: the coarse grids need a third of its memory, and what
  // they free is reused by this grid's certificates, so the peak is lower
  // this way round (benchmarks/RESULTS.md, "2026-11-26 · 2-core CPU · multilevel warm start").
  // The problems of a batch with a coarse level are solved there as a batch.
  std::vector<std::optional<CoarseSolution>> coarse(B);
  {
    std::vector<std::optional<CoarseProblem>> coarse_problems(B);
    std::vector<const Problem*> down;
    PreparedBatch down_batch;
    for (std::size_t b = 0; b < B; ++b) {
      if (initial(b)) continue;
      std::optional<CoarseProblem> made = coarse_problem(*problems[b], options);
      if (!made) continue;
      coarse_problems[b].emplace(std::move(*made));  // emplaced: a Coarsening refers to its fine grid
      down.push_back(&coarse_problems[b]->problem);
      down_batch.problem.push_back(batch.problem.empty() ? std::int64_t(b) : batch.problem[b]);
    }
    if (!down.empty()) {
      const CoarseOptions coarse_options(options, down[0]->domain.cells);
      std::vector<Result> solved = solve_prepared(down, coarse_options.options, false, down_batch);
      for (std::size_t b = 0, at = 0; b < B; ++b)
        if (coarse_problems[b])
          coarse[b].emplace(CoarseSolution{std::move(coarse_problems[b]->coarsening), std::move(solved[at++])});
    }
  }

  std::vector<LoopSpec> specs(B);
  // The iterate is read and certified into buffers that the certificates
  // reuse (Bounds hands back the loser's arrays).
  std::vector<double> flux, exchange, potential;
  for (std::size_t b = 0; b < B; ++b) {
    LoopSpec& spec = specs[b];
    const Problem& fb = *problems[b];
    spec.lp = f.spatial == SpatialProx::soft && f.exchange == ExchangeProx::soft;
    spec.norm_bound = norm_bound;
    // Vector problems keep the primal weight within [1/10, 10]. Why: with the
    // scalar isotropic range of 100 the weight of isotropic RGB solves fell low
    // and oscillated, and the residual with it. Matrix problems keep 100: 10
    // slows them, and none oscillated with 100 (benchmarks/RESULTS.md,
    // "2026-11-25 · 2-core CPU · vector (RGB) and matrix OMT, float32, gap 1e-4").
    spec.weight_range = f.kind == Kind::vector ? 10.0 : 0.0;
    spec.residual_scale = fb.total_mass > 0 ? 1.0 / (mass_scale[b] * fb.total_mass) : 0.0;
    spec.trivial = trivial[b];
    spec.problem = batch.problem.empty() ? std::int64_t(b) : batch.problem[b];
    if (batch.finished) spec.finished = [&batch, b] { batch.finished(b); };
    spec.certify = [&, b](Bounds& bounds) {
      const Problem& fb = *problems[b];
      Improved improved;
      backend->read_flux(int(b), flux);
      backend->read_exchange(int(b), exchange);
      for (int p = 0; p < P; ++p)
        for (int s = 0; s < dom.d; ++s) {
          const double to_user = 1.0 / (mass_scale[b] * dom.h[s] / h_ref);  // F = v / (c h_s)
          double* plane = flux.data() + (std::size_t(p) * dom.d + s) * n;
          for (std::int64_t i = 0; i < n; ++i) plane[i] *= to_user;
        }
      for (int q = 0; q < cols; ++q) {
        const double to_user = 1.0 / (mass_scale[b] * sigma[q / m]);
        double* plane = exchange.data() + std::size_t(q) * n;
        for (std::int64_t i = 0; i < n; ++i) plane[i] *= to_user;
      }
      improved.upper = certify_flux(fb, flux, exchange, bounds);
      backend->read_potential(int(b), potential);
      for (double& x : potential) x *= h_ref;
      improved.lower = certify_potential(fb, potential, scratch, bounds);
      return improved;
    };
    auto to_solver = [&, b](Backend::Slice slice, int index) {
      switch (slice) {
        case Backend::Slice::flux: return mass_scale[b] * dom.h[index % dom.d] / h_ref;
        case Backend::Slice::exchange: return mass_scale[b] * sigma[index / m];
        default: return 1.0 / h_ref;
      }
    };
    if (const InitialIterate* init = initial(b)) {
      std::vector<double> slice(n);
      auto write = [&](Backend::Slice kind, int index, const std::vector<double>& from) {
        const double factor = to_solver(kind, index);
        for (std::int64_t i = 0; i < n; ++i) slice[i] = from[std::size_t(index) * n + i] * factor;
        backend->write_slice(int(b), kind, index, slice);
      };
      for (int p = 0; p < P; ++p) write(Backend::Slice::potential, p, init->potential);
      for (int j = 0; j < P * dom.d; ++j) write(Backend::Slice::flux, j, init->flux);
      for (int q = 0; q < cols; ++q) write(Backend::Slice::exchange, q, init->exchange);
      spec.certify_start = true;
    }
    start_from_coarse(coarse[b], *backend, int(b), P, cols, to_solver, results[b], spec);
  }
  run_loop(*backend, specs, options, max_iter, results);
  for (std::size_t b = 0; b < B; ++b) {
    if (user_layout && problems[b]->unbalanced()) split_source(*problems[b], results[b]);
    if (user_layout && f.kind != Kind::scalar) to_user_layout(*problems[b], results[b]);
    results[b].seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return results;
}

Result solve_prepared(const Problem& problem, const SolveOptions& options, bool user_layout,
                      const InitialIterate* initial) {
  PreparedBatch one;
  if (initial) one.initial.push_back(initial);
  return std::move(solve_prepared({&problem}, options, user_layout, one)[0]);
}

}  // namespace detail

namespace {

// SolveOptions::threads for the duration of a solve: OpenMP's thread count
// is the calling thread's own setting, restored afterwards.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads) {
#if defined(_OPENMP)
    if (threads > 0) {
      saved_ = omp_get_max_threads();
      omp_set_num_threads(threads);
    }
#endif
  }
  ~ThreadLimit() {
#if defined(_OPENMP)
    if (saved_ > 0) omp_set_num_threads(saved_);
#endif
  }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int saved_ = 0;
};

template <class Problem>
Result solve_kind(const Problem& problem, const SolveOptions& options) {
  const auto start = Clock::now();
  detail::check_options(options);
  const ThreadLimit limit(options.threads);
  // Before anything grid-sized is allocated (validation builds the domain).
  detail::check_host_memory(detail::problem_size(problem), options.dtype,
                            detail::pick_backend(options.backend).name == "cpu");
  const detail::Problem prepared = detail::prepare(problem);
  std::optional<detail::InitialIterate> initial;
  if (options.initial) initial = from_user_layout(prepared, *options.initial);
  Result result = detail::solve_prepared(prepared, options, true, initial ? &*initial : nullptr);
  to_caller_unit(prepared, result);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();  // validation included
  return result;
}

}  // namespace

Result solve(const ScalarProblem& problem, const SolveOptions& options) { return solve_kind(problem, options); }

Result solve(const VectorProblem& problem, const SolveOptions& options) { return solve_kind(problem, options); }
Result solve(const MatrixProblem& problem, const SolveOptions& options) { return solve_kind(problem, options); }

}  // namespace omtcore

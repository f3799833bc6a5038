#include "core/multilevel.hpp"

#include <algorithm>
#include <cmath>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "omtcore/solve.hpp"

namespace omtcore::detail {

namespace {

// Why 1e-3: coarse levels solved tighter save (almost) no fine iterations and
// cost more time (benchmarks/RESULTS.md, "2026-11-26 · 2-core CPU · multilevel warm start").
constexpr double kCoarseTol = 1e-3;
// A coarse level of at least this many cells (the level below a 1024^2 grid,
// and below grids of odd sides near it: 511^2, 499^2, 342 x 512) is solved to
// the caller's tolerance instead. Why: there a looser start sets off a long
// swing of the primal weight, and fine iterations are expensive
// (benchmarks/RESULTS.md,
// "2026-11-26 · 2-core CPU · vectorised loop, coarse tolerance at 1024², OR-Tools at 1024²";
// "2026-12-02 · 2-core CPU · transforms of every length" for 2^17 against 2^18).
constexpr std::int64_t kFullTolCoarseCells = std::int64_t(1) << 17;
constexpr std::int64_t kMinCoarseAxis = 16;
constexpr std::int64_t kMinCoarseCells = 32 * 32;
constexpr double kMinCoarseImbalance = 0.75;

}  // namespace

std::optional<Coarsening> Coarsening::of(const Domain& fine) {
  Coarsening c(fine);
  c.grid_.shape.clear();
  c.grid_.spacing.clear();
  c.cells_ = 1;
  bool halved = false;
  for (int s = 0; s < fine.d; ++s) {
    c.factor_[s] = fine.n[s] >= 2 * kMinCoarseAxis ? 2 : 1;
    halved = halved || c.factor_[s] == 2;
    c.n_[s] = (fine.n[s] + c.factor_[s] - 1) / c.factor_[s];
    c.cells_ *= c.n_[s];
    c.grid_.shape.push_back(c.n_[s]);
    c.grid_.spacing.push_back(double(c.factor_[s]) * fine.h[s]);
  }
  if (!halved || c.cells_ < kMinCoarseCells) return std::nullopt;
  c.stride_ = {c.n_[1] * c.n_[2], c.n_[2], 1};
  if (fine.domain_cells < fine.cells) {
    c.mask_.assign(c.cells_, 0);
    for (std::int64_t i = 0; i < fine.cells; ++i)
      if (fine.inside[i]) c.mask_[c.block(c.coords(i))] = 1;
  }
  return c;
}

void Coarsening::prolong_potential(const double* coarse, double* fine) const {
  const int d = fine_.d;
  for (std::int64_t i = 0; i < fine_.cells; ++i) {
    if (!fine_.inside[i]) {
      fine[i] = 0;
      continue;
    }
    const auto f = coords(i);
    double value = 0, total = 0;
    for (int corner = 0; corner < (1 << d); ++corner) {
      double w = 1;
      std::int64_t c = 0;
      for (int s = 0; s < d && w > 0; ++s) {
        const bool across = corner & (1 << s);
        std::int64_t J = f[s] / factor_[s];
        if (factor_[s] == 1) {
          w = across ? 0 : w;  // a kept axis: the cell's own coarse cell
        } else {
          if (across) J += (f[s] % 2 == 0) ? -1 : 1;
          if (J < 0 || J >= n_[s]) w = 0;  // past the edge: the nearer centres alone
          w *= across ? 0.25 : 0.75;
        }
        c += J * stride_[s];
      }
      if (w > 0 && (mask_.empty() || mask_[c])) {
        value += w * coarse[c];
        total += w;
      }
    }
    fine[i] = value / total;  // the home block is always inside, total >= 0.75^d
  }
}

void Coarsening::prolong_flux(int s, const double* coarse, double* fine) const {
  for (std::int64_t i = 0; i < fine_.cells; ++i) {
    if (!(fine_.bits[i] & (1u << s))) {  // no face towards i + e_s
      fine[i] = 0;
      continue;
    }
    const auto f = coords(i);
    std::int64_t covered = 1;  // fine faces the coarse face covers: the block's cross-section
    for (int t = 0; t < fine_.d; ++t)
      if (t != s) covered *= extent(t, f[t]);
    const std::int64_t home = block(f);
    double g = coarse[home];  // a kept axis, or the block's outgoing face
    if (factor_[s] == 2 && f[s] % 2 == 0)  // a face inside the block
      g = 0.5 * (coarse[home] + (f[s] > 0 ? coarse[home - stride_[s]] : 0.0));
    fine[i] = g / double(covered);
  }
}

void Coarsening::prolong_share(const double* coarse, double* fine) const {
  for (std::int64_t i = 0; i < fine_.cells; ++i) {
    if (!fine_.inside[i]) {
      fine[i] = 0;
      continue;
    }
    const auto f = coords(i);
    std::int64_t cells = 1;
    for (int t = 0; t < fine_.d; ++t) cells *= extent(t, f[t]);
    fine[i] = coarse[block(f)] / double(cells);
  }
}

bool coarse_level_pays(double fine_imbalance_l1, double coarse_imbalance_l1) {
  return coarse_imbalance_l1 >= kMinCoarseImbalance * fine_imbalance_l1;
}

CoarseOptions::CoarseOptions(const SolveOptions& fine, std::int64_t coarse_cells)
    : options(fine), callback_(fine.callback), data_(fine.callback_data) {
  options.tol = coarse_cells >= kFullTolCoarseCells ? fine.tol : std::max(fine.tol, kCoarseTol);
  options.max_iter = fine.max_iter;  // the caller's limit holds on every grid (0: each grid's default)
  if (callback_) {
    options.callback = forward;
    options.callback_data = this;
  }
}

bool CoarseOptions::forward(const Progress& progress, void* self) {
  const auto* o = static_cast<const CoarseOptions*>(self);
  Progress coarser = progress;
  ++coarser.level;
  return o->callback_(coarser, o->data_);
}

std::optional<CoarseProblem> coarse_problem(const Problem& f, const SolveOptions& options) {
  if (options.method != Method::automatic || f.total_mass <= 0) return std::nullopt;
  std::optional<Coarsening> coarse = Coarsening::of(f.domain);
  if (!coarse) return std::nullopt;
  const std::int64_t nc = coarse->cells();
  std::vector<double> rhs(std::size_t(f.planes) * nc);
  for (int p = 0; p < f.planes; ++p)
    coarse->restrict_sum([&](std::int64_t i) { return f.net(p, i); }, rhs.data() + std::size_t(p) * nc);
  double fine_l1 = 0, coarse_l1 = 0;
  for (int p = 0; p < f.planes; ++p)
    for (std::int64_t i = 0; i < f.domain.cells; ++i) fine_l1 += std::fabs(f.net(p, i));
  for (double r : rhs) coarse_l1 += std::fabs(r);
  if (fine_l1 == 0 || !coarse_level_pays(fine_l1, coarse_l1)) return std::nullopt;
  // Everything but the grid and a - b is per cell or per problem, the same on both grids.
  CoarseProblem out{std::move(*coarse), f};
  Problem& cf = out.problem;
  cf.a = cf.b = nullptr;
  cf.rhs = std::move(rhs);
  cf.total_mass = 0.5 * coarse_l1;
  cf.domain = Domain::build(out.coarsening.grid(), out.coarsening.mask());
  return out;
}

void start_from_coarse(std::optional<CoarseSolution>& coarse, Backend& backend, int problem, int planes, int columns,
                       const std::function<double(Backend::Slice, int)>& to_solver, Result& result,
                       LoopSpec& spec) {
  if (!coarse) return;
  const Coarsening& c = coarse->coarsening;
  const Result& r = coarse->result;
  const std::size_t nc = std::size_t(c.cells());
  const int d = int(c.grid().shape.size());
  std::vector<double> slice(c.fine_cells());
  auto write = [&](Backend::Slice kind, int index) {
    const double factor = to_solver(kind, index);
    for (double& x : slice) x *= factor;
    backend.write_slice(problem, kind, index, slice);
  };
  for (int p = 0; p < planes; ++p) {
    c.prolong_potential(r.potential.data() + p * nc, slice.data());
    write(Backend::Slice::potential, p);
    for (int s = 0; s < d; ++s) {
      c.prolong_flux(s, r.flux.data() + (std::size_t(p) * d + s) * nc, slice.data());
      write(Backend::Slice::flux, p * d + s);
    }
  }
  for (int q = 0; q < columns; ++q) {
    c.prolong_share(r.exchange.data() + q * nc, slice.data());
    write(Backend::Slice::exchange, q);
  }
  result.levels = 1 + r.levels;
  spec.stopped_before_start = r.stopped_by_callback;
  std::vector<double>().swap(slice);
  coarse.reset();
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace omtcore::detail

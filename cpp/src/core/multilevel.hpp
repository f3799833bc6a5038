// Multilevel warm start (method "auto"): the problem restricted to a grid of
// half as many cells along each long enough axis (masses summed over blocks
// of 2 cells per such axis; the last block of an odd side holds 1) is solved first,
// to a looser tolerance and itself warm-started the same way, and its
// certified solution, prolonged to the fine grid, is where the fine iteration
// starts. The certificate is always the fine grid's own: a coarse level only
// changes where the iteration begins.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/backend.hpp"
#include "core/domain.hpp"
#include "core/problem.hpp"
#include "core/solve_loop.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

// The grid of blocks of a fine domain, and the maps between them. An axis of
// at least 32 cells is halved (blocks of 2 cells along it; of 1 at the end of
// an odd side), a shorter one kept (blocks of 1 along it): odd sides and thin
// grids coarsen too. The coarse grid is uniform with twice the spacing along
// halved axes; a partial block is treated as a whole coarse cell there, which
// only makes the warm start less exact, never the certificate.
class Coarsening {
 public:
  // The coarse level of `fine`, or nothing when it has none: no axis of at
  // least 32 cells, or a coarse grid under 32^2 cells in all.
  static std::optional<Coarsening> of(const Domain& fine);

  const Grid& grid() const { return grid_; }
  // A coarse cell is in the domain when one of its fine cells is, so fine
  // cells joined by a face stay joined and each coarse part stays balanced.
  // nullptr: the full rectangle.
  const std::uint8_t* mask() const { return mask_.empty() ? nullptr : mask_.data(); }
  std::int64_t cells() const { return cells_; }
  std::int64_t fine_cells() const { return fine_.cells; }

  // coarse[c] = sum of value(i) over the fine cells i of block c.
  template <class F>
  void restrict_sum(F&& value, double* coarse) const {
    std::fill(coarse, coarse + cells_, 0.0);
    for (std::int64_t i = 0; i < fine_.cells; ++i) coarse[block(coords(i))] += value(i);
  }
  // Along a halved axis fine cell 2I sits a quarter of a coarse cell before
  // the centre of coarse cell I, 2I + 1 a quarter after. Potentials:
  // multilinear between the coarse centres inside the domain.
  void prolong_potential(const double* coarse, double* fine) const;
  // Fluxes along axis s (mass through faces): the mass through a coarse face
  // split evenly over the fine faces it covers; along a halved axis a fine
  // face inside a block takes the mean of the block's two faces along s.
  // Zero on inactive fine faces.
  void prolong_flux(int s, const double* coarse, double* fine) const;
  // In-cell quantities (exchanged mass): a block's spread evenly over its cells.
  void prolong_share(const double* coarse, double* fine) const;

 private:
  explicit Coarsening(const Domain& fine) : fine_(fine) {}
  std::array<std::int64_t, 3> coords(std::int64_t i) const {
    std::array<std::int64_t, 3> f{0, 0, 0};
    for (int s = 0; s < fine_.d; ++s) f[s] = (i / fine_.stride[s]) % fine_.n[s];
    return f;
  }
  std::int64_t block(const std::array<std::int64_t, 3>& f) const {
    std::int64_t c = 0;
    for (int s = 0; s < fine_.d; ++s) c += (f[s] / factor_[s]) * stride_[s];
    return c;
  }
  // Fine cells of the block holding fine coordinate f along axis s (1 or 2).
  std::int64_t extent(int s, std::int64_t f) const {
    return factor_[s] == 1 ? 1 : std::min<std::int64_t>(2, fine_.n[s] - 2 * (f / 2));
  }

  const Domain& fine_;
  Grid grid_;
  std::array<std::int64_t, 3> factor_{1, 1, 1};  // 2 on halved axes
  std::array<std::int64_t, 3> n_{1, 1, 1}, stride_{0, 0, 0};
  std::int64_t cells_ = 0;
  std::vector<std::uint8_t> mask_;
};

// Whether solving on the coarse level pays: the block sums keep at least 3/4
// of sum |a - b|. Why: uniform noise keeps about half per level (its transport
// is local) and gains nothing from a warm start (benchmarks/RESULTS.md,
// "2026-11-26 · 2-core CPU · multilevel warm start").
bool coarse_level_pays(double fine_imbalance_l1, double coarse_imbalance_l1);

// The options of a coarse solve of coarse_cells cells: tolerance
// max(tol, 1e-3), or tol itself on a coarse grid of 512^2 cells or more; the
// caller's iteration limit (it bounds every grid); and the caller's callback
// told the level (Progress::level + 1).
struct CoarseOptions {
  CoarseOptions(const SolveOptions& fine, std::int64_t coarse_cells);
  CoarseOptions(const CoarseOptions&) = delete;  // options.callback_data points here
  SolveOptions options;
 private:
  ProgressCallback callback_;
  void* data_;
  static bool forward(const Progress& progress, void* self);
};

// A coarse level's certified solution in user units and plane layout
// (flux (planes * d, cells), exchange (columns, cells), potential (planes, cells)).
struct CoarseSolution {
  Coarsening coarsening;
  Result result;
};

// The coarse level of a problem (method "auto" and a coarse level that
// pays; nothing otherwise): a - b summed over blocks, stored, and the
// problem between its positive and negative parts, whose mass (half its
// l1 norm) sets the coarse residual's scale. Solved by solve_prepared
// (several problems of a batch at once) with CoarseOptions.
struct CoarseProblem {
  Coarsening coarsening;
  Problem problem;
};
std::optional<CoarseProblem> coarse_problem(const Problem& problem, const SolveOptions& options);

// A start for the iteration in user units and plane layout (as CoarseSolution's result).
struct InitialIterate {
  std::vector<double> flux, exchange, potential;
};

// A batch's extras for solve_prepared: per problem a warm start (or
// nullptr; an empty list: none), the index its callback reports as
// Progress::problem (empty: its place), and finished(b), called as
// problem b is done.
struct PreparedBatch {
  std::vector<const InitialIterate*> initial;
  std::vector<std::int64_t> problem;
  std::function<void(std::size_t)> finished;
};

// The driver (solve.cpp) for validated problems of one operator
// (same_operator: they differ in a - b only), stepped together on one
// backend; user_layout false keeps the results in plane layout (as
// CoarseSolution). A problem with a warm start starts there and skips the
// multilevel warm start.
std::vector<Result> solve_prepared(const std::vector<const Problem*>& problems, const SolveOptions& options,
                                   bool user_layout, const PreparedBatch& batch);
Result solve_prepared(const Problem& problem, const SolveOptions& options, bool user_layout,
                      const InitialIterate* initial = nullptr);

// Whether two validated problems differ in a - b only: then they can be
// solved together (solve_prepared, one backend for both).
bool same_operator(const Problem& x, const Problem& y);
// Problems of one operator solved together, with their warm starts in the
// user's layout (`initial`: one per problem, nullptr for none, or empty);
// the results as solve() returns them (user layouts and units).
std::vector<Result> solve_together(const std::vector<const Problem*>& problems, const SolveOptions& options,
                                   const std::vector<const Result*>& initial, PreparedBatch batch);

// Starts the fine iteration from `coarse`, if there is one: prolongs it to
// the fine grid and writes it into `backend` slice by slice, each multiplied
// by to_solver(slice, index) (user to solver units); records the grids solved
// in result.levels and a callback's stop in spec; then frees the coarse
// solution and hands the memory the coarse solves freed back to the system
// (glibc keeps freed heap blocks resident, which raises the solve's peak;
// benchmarks/RESULTS.md, "2026-11-26 · 2-core CPU · multilevel warm start").
void start_from_coarse(std::optional<CoarseSolution>& coarse, Backend& backend, int problem, int planes, int columns,
                       const std::function<double(Backend::Slice, int)>& to_solver, Result& result,
                       LoopSpec& spec);

}  // namespace omtcore::detail

// Problem descriptions, options and results of the public C++ API.
// Masses are per cell, arrays are C order (last axis fastest), fluxes are
// component first; flux[s][i] is the mass moved from cell i to cell i + e_s.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omtcore {

// A regular grid of 1 to 3 axes. `spacing` holds one value per axis, or a
// single value used for every axis. Units of spacing are the units of the
// returned distance per unit mass.
struct Grid {
  std::vector<std::int64_t> shape;
  std::vector<double> spacing{1.0};
};

enum class Norm { isotropic, anisotropic };
enum class Dtype { float32, float64 };
// Matrix OMT: "frobenius" (the paper's default) or "nuclear" (sum of absolute
// eigenvalues; the spatial part is then summed over axes, like "anisotropic").
enum class MatrixNorm { frobenius, nuclear };
// automatic: Poisson-preconditioned PDHG with adaptive primal weight, warm
// started on coarser grids (scalar problems; the default); adaptive: the same
// on the given grid alone; preconditioned: with a fixed weight; pdhg: plain
// PDHG. The last three exist for comparison (benchmarks/bench_accelerated.py).
enum class Method { automatic, adaptive, preconditioned, pdhg };

// Read-only numbers as the caller stores them, float64 or float32: the
// solver reads them where they lie and never copies them whole, so a float32
// image costs no float64 copy. Converts from either pointer type (a
// problem's `a = image.data()` takes both).
class Values {
 public:
  Values() = default;
  Values(std::nullptr_t) {}
  Values(const double* data) : f64_(data) {}
  Values(const float* data) : f32_(data) {}
  double operator[](std::int64_t i) const { return f64_ ? f64_[i] : double(f32_[i]); }
  // The numbers from `offset` on.
  Values from(std::int64_t offset) const {
    Values v;
    if (f64_) v.f64_ = f64_ + offset;
    if (f32_) v.f32_ = f32_ + offset;
    return v;
  }
  bool empty() const { return f64_ == nullptr && f32_ == nullptr; }
  Dtype dtype() const { return f32_ ? Dtype::float32 : Dtype::float64; }

 private:
  const double* f64_ = nullptr;
  const float* f32_ = nullptr;
};

// Parse the names used by the Python API ("isotropic", "float32", "auto", ...);
// an unknown name throws InvalidInputError listing the valid ones.
Norm parse_norm(std::string_view name);
Dtype parse_dtype(std::string_view name);
Method parse_method(std::string_view name);
MatrixNorm parse_matrix_norm(std::string_view name);
const char* to_string(Norm norm);
const char* to_string(Dtype dtype);
const char* to_string(Method method);
const char* to_string(MatrixNorm norm);

// Scalar OMT: W1(a, b) with ground cost given by `norm`. `a` and `b` point to
// grid-many non-negative masses (float64 or float32, see Values); `mask` (optional, grid-many 0/1 bytes) marks
// the cells of the domain. The pointed-to data must outlive the solve call and
// not change during it (it is read, not copied, also while certifying).
struct ScalarProblem {
  Grid grid;
  Values a;
  Values b;
  const std::uint8_t* mask = nullptr;
  Norm norm = Norm::isotropic;
  bool normalize = false;  // scale a and b to unit total mass first
  // Unbalanced transport: mass may also be created or destroyed, at this
  // price per unit (a source s with div F + s = a - b costs unbalanced *
  // sum |s|); then a and b need not balance. Unset: balanced. Must be finite
  // and > 0 (else InvalidInputError). The same for every problem kind.
  std::optional<double> unbalanced;
};

// Vector OMT: k channels per cell, `a` and `b` point
// to cells * k masses, channel last (an RGB image's layout). Edge e = {s, t}
// moves mass inside a cell from channel s to channel t at price
// alpha * weights[e] per unit. `edges` unset: all pairs (0,1), (0,2), ...,
// (1,2), ... in that order; an empty list: k separate scalar problems.
// `weights` empty: 1 for every edge.
struct VectorProblem {
  Grid grid;
  int channels = 0;
  Values a;
  Values b;
  std::optional<std::vector<std::array<int, 2>>> edges;
  std::vector<double> weights;
  double alpha = 1.0;
  const std::uint8_t* mask = nullptr;
  Norm norm = Norm::isotropic;
  bool normalize = false;
  std::optional<double> unbalanced;  // as ScalarProblem's; the source is per channel, cost sum |s(i, c)|
};

// Matrix OMT: a Hermitian positive semidefinite
// k x k matrix per cell. `a` and `b` point to cells * k * k complex numbers as
// interleaved (re, im) pairs, row-major per matrix. `L` holds N Hermitian
// k x k matrices in the same layout (N * k * k pairs); unset: the generalised
// Gell-Mann matrices (Pauli for k = 2, none for k = 1).
struct MatrixProblem {
  Grid grid;
  int k = 0;
  Values a;  // interleaved (re, im): a complex64 array read as float32
  Values b;
  std::optional<std::vector<double>> L;
  double alpha = 1.0;
  const std::uint8_t* mask = nullptr;
  MatrixNorm matrix_norm = MatrixNorm::frobenius;
  bool normalize = false;
  // As ScalarProblem's: a Hermitian source S per cell, at unbalanced * ||S||
  // (Frobenius or nuclear, as matrix_norm).
  std::optional<double> unbalanced;
};

// The default L of a k x k matrix problem: the k^2 - 1 generalised Gell-Mann
// matrices, normalised tr(L_a L_b) = 2 delta_ab, in MatrixProblem::L's layout
// (interleaved (re, im), row-major): the symmetric E_jl + E_lj, then the
// antisymmetric -i E_jl + i E_lj (j < l), then the diagonal ones; for k = 2
// Pauli X, Y, Z; none for k = 1. Throws InvalidInputError for k < 1.
std::vector<double> gell_mann(int k);

// Reported to the progress callback at every convergence check.
struct Progress {
  std::int64_t iteration;
  double gap;       // certified relative gap of the last certificate (1 if none yet)
  double residual;  // relative constraint violation of the current iterate
  // 0: the grid the problem is on; k > 0: the k-th coarser grid of the
  // multilevel warm start, whose own iteration, gap and residual these are.
  int level = 0;
  // Batches (solve_batch): the problem's index; -1 for the reports on the
  // whole batch that the calling thread makes (every 0.1 s and as problems
  // finish; iteration, gap and residual are then 0). 0 for single solves.
  std::int64_t problem = 0;
  std::int64_t problems_done = 0;  // batches: problems finished so far
};

// Called from the solving thread at every check and at least every 0.1 s;
// returning false stops the solve (the result is then not converged). In a
// batch, calls come from several threads, one call at a time, and returning
// false stops the whole batch.
using ProgressCallback = bool (*)(const Progress& progress, void* user_data);

struct Result;

struct SolveOptions {
  double tol = 1e-4;            // target for both the certified gap and the residual
  std::int64_t max_iter = 0;    // on each grid solved (multilevel warm start too); 0: default_max_iter(grid)
  Method method = Method::automatic;
  std::string backend = "auto"; // "auto", "cpu", "opencl", "cuda"
  int device = -1;              // index into the backend's device list; -1: its default (first GPU)
  Dtype dtype = Dtype::float32; // iterate precision; certificates are always double
  int check_every = 0;          // iterations between checks; 0: default (25)
  // CPU threads this solve may use (OpenMP, the calling thread's own
  // setting, so that solves on several threads each keep to theirs); 0: all.
  int threads = 0;
  // The caller's own queue or stream to run on, instead of `device`: OpenCL, a
  // cl_command_queue (its context and device are used; the queue is retained
  // for the solve and finished before solve returns); CUDA, a cudaStream_t
  // (its device is used; the stream is synchronised before solve returns).
  // Passing both this and `device` is an InvalidInputError.
  std::uintptr_t native_queue = 0;
  ProgressCallback callback = nullptr;
  void* callback_data = nullptr;
  // A warm start: the iteration starts from this result's flux, exchange and
  // potential (a previous solve of a problem of the same kind, grid and k, in
  // the layouts of Result and the caller's unit of mass) instead of the
  // multilevel warm start; flux on faces outside the domain and potential
  // outside it are ignored. The answer is certified as always. Arrays of
  // other sizes are an InvalidInputError. Read during the solve only.
  const Result* initial = nullptr;
};

struct Result {
  double distance = 0;      // cost of `flux`, an upper bound on the true distance
  double lower_bound = 0;   // dual objective of `potential`, a rigorous lower bound
  double gap = 0;           // (distance - lower_bound) / distance, 0 when distance is 0
  double residual = 0;      // violation, before repair, of the iterate `flux` was repaired from / total mass
  // Layouts, C order; matrix quantities are complex, stored
  // as interleaved (re, im) pairs (one more axis of length 2 at the end).
  //   scalar: flux (d, *grid), potential grid, exchange empty;
  //   vector: flux (d, *grid, k), exchange (n_edges, *grid), potential (*grid, k);
  //   matrix: flux (d, *grid, k, k), exchange (N, *grid, k, k), potential (*grid, k, k).
  // flux[s][i] is the mass moved from cell i to cell i + e_s.
  std::vector<double> flux;
  std::vector<double> exchange;
  std::vector<double> potential;  // the dual-feasible potential giving lower_bound
  // Unbalanced problems: the source s (mass of a removed where positive, mass
  // of b supplied where negative), with
  // flux and exchange exactly feasible: div F + (exchange) + s = a - b.
  // Layout of one input: grid; (*grid, k); (*grid, k, k) interleaved. Empty
  // for balanced problems.
  std::vector<double> source;
  std::int64_t iterations = 0;
  bool converged = false;   // gap <= tol and residual <= tol
  bool stopped_by_callback = false;
  // Grids solved: 1, plus the coarser grids of the multilevel warm start
  // (method "auto", scalar problems); `iterations` counts this grid's only.
  int levels = 1;
  double seconds = 0;
  std::string backend, device, dtype, method;
};

struct BackendInfo {
  std::string name;                  // "cpu", "opencl", "cuda"
  bool available = false;
  std::string reason;                // why not available, or ""
  std::vector<std::string> devices;  // human-readable device names
};

}  // namespace omtcore

// One form for every problem kind, validated: P real planes per cell with a
// spatial flux per plane, and exchange variables coupled to the planes inside
// each cell. A scalar problem is one plane with no exchange; a vector problem
// k planes (its channels) and one exchange variable per graph edge; a matrix
// problem the k^2 real coordinates of a Hermitian matrix (field_math.h's
// basis) and k^2 exchange variables per L_l. The driver (solve.cpp), the
// warm start (multilevel.cpp) and the certificates only see this form. User
// units throughout.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/domain.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

constexpr int kMaxMatrixSize = 8;  // OMT_MAX_K of hermitian_eig.h
constexpr int kMaxPlanes = 64;     // OMT_MAX_PLANES of field_math.h
// Inputs whose totals differ by up to this share of the mass are rebalanced
// (by scaling b, every kind), more is an error: a few float32 roundings of a
// normalized input are tolerated.
constexpr double kRebalanceTolerance = 1e-6;

enum class Kind { scalar, vector, matrix };

struct Problem {
  Kind kind = Kind::scalar;
  Domain domain;
  int k = 1;       // channels, or the matrix size (1 for scalars)
  int planes = 1;  // k, or k * k
  SpatialProx spatial = SpatialProx::soft;
  ExchangeProx exchange = ExchangeProx::soft;
  int blocks = 0, block_size = 1;
  // Unbalanced problems (lam > 0): the last `source_blocks` blocks are the
  // source s, coupled to the planes by the identity at cost lam (one block of
  // block_size 1 per plane, or one of k^2 coordinates for matrices).
  double lam = 0;
  int source_blocks = 0;
  std::vector<double> coupling;  // planes x (blocks * block_size): (K x)_p in-cell part
  std::vector<double> cost;      // per block: alpha * weight, >= 0
  double total_mass = 0;         // sum of a (total trace for matrices), in `unit`s
  // W1 is homogeneous in the masses: the solve works in a unit of mass near
  // the largest one, a power of two (mass_unit: scaling by it is exact), so
  // that masses of any size stay clear of float32's and of their squares'
  // range limits; distances, lower bounds and fluxes are multiplied by it at
  // the end. 1 with normalize (the answer is the normalized problem's).
  double unit = 1;
  // ker(coupling^T), orthonormal, `conserved` x planes: the directions whose
  // totals must balance per part and that potentials may shift freely.
  int conserved = 0;
  std::vector<double> conserved_basis;
  // coupling coupling^T = modes diag(mode_eigenvalues) modes^T (columns).
  std::vector<double> modes, mode_eigenvalues;
  // Vector problems: the edges, and alpha times the graph's shortest-path
  // distances between channels (k x k, infinite across components).
  std::vector<std::array<int, 2>> edges;
  std::vector<double> channel_distance;

  // a - b, normalized and rebalanced: either read from the caller's arrays
  // (scalar and vector problems; channel c of cell i at i * planes + c),
  // which outlive the solve, so that it is never stored (8 bytes per cell
  // and plane), or stored plane-major (matrix problems, coarse levels).
  Values a;
  Values b;
  double scale_a = 1;            // 1 / sum(a) with normalize, else 1 / unit
  int components = 1;            // channel components (vector), per part in scale_b
  std::vector<int> component;    // per plane: its channel component
  std::vector<double> scale_b;   // per (part, component): as scale_a, times the rebalancing
  std::vector<double> rhs;       // (planes, cells) when stored

  int columns() const { return blocks * block_size; }
  bool unbalanced() const { return lam > 0; }
  int source_column() const { return (blocks - source_blocks) * block_size; }  // the first source column
  bool stored() const { return a.empty(); }
  // (a - b)(p, i); 0 outside the domain.
  double net(int p, std::int64_t i) const {
    if (stored()) return rhs[std::size_t(p) * domain.cells + i];
    const int q = domain.part_of(i);
    const std::int64_t at = i * planes + p;
    return q < 0 ? 0.0 : a[at] * scale_a - b[at] * scale_b[q * components + component[p]];
  }
};

Problem prepare(const ScalarProblem& problem);
Problem prepare(const VectorProblem& problem);
Problem prepare(const MatrixProblem& problem);

void check_options(const SolveOptions& options);
// Throws InvalidInputError when `start` cannot warm-start `problem`
// (SolveOptions::initial: another kind, grid or size).
void check_warm_start(const Problem& problem, const Result& start);
// The power of two nearest below `largest` (Problem::unit); 1 for 0.
double mass_unit(double largest);
void check_alpha(double alpha);
// Validates ScalarProblem::unbalanced (and the others'): 0 for balanced, else lam.
double check_unbalanced(const std::optional<double>& unbalanced);
// Appends the source blocks of an unbalanced problem (cost lam) to the
// coupling, and recomputes the coupling's modes.
void add_source(Problem& f, double lam);
std::string cell_string(const Domain& dom, std::int64_t i);
// A number for error messages (10 significant digits).
std::string num(double x);

// Eigen-decomposition of a real symmetric n x n matrix (row-major) by cyclic
// Jacobi: eigenvalues ascending, eigenvectors as the columns of `vectors`.
// For the coupling's modes, up to kMaxPlanes = 64 rows: hermitian_eig's
// fixed per-cell arrays stop at kMaxMatrixSize.
void symmetric_eigen(int n, std::vector<double> a, std::vector<double>& values,
                     std::vector<double>& vectors);

// coupling coupling^T (planes x planes, coupling row-major planes x cols)
// = vectors diag(values) vectors^T, by symmetric_eigen.
void coupling_modes(int planes, int cols, const std::vector<double>& coupling, std::vector<double>& values,
                    std::vector<double>& vectors);

// The kernels' Hermitian eigensolver (kernels/hermitian_eig.h) in double on
// the host, k <= kMaxMatrixSize; re and im as there (k*k, row-major).
// hermitian_eig overwrites re and im; w ascending, eigenvectors as columns.
void hermitian_eig(int k, double* re, double* im, double* w, double* vre, double* vim);
// The nuclear norm (sum of |eigenvalues|) or the operator norm.
double hermitian_norm(int k, const double* re, const double* im, bool nuclear);

// Hermitian k x k matrix <-> its k^2 real coordinates (field_math.h's basis);
// matrices are interleaved (re, im) pairs, row-major.
void matrix_to_coords(int k, const double* interleaved, double* coords);
void coords_to_matrix(int k, const double* coords, double* interleaved);

}  // namespace omtcore::detail

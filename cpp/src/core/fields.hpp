// Vector and matrix problems in one form ("fields"): P real planes per cell,
// spatial flux per plane, and exchange variables coupled to the planes inside
// each cell. Validation (formulation.md, "Tolerated imbalance") happens here;
// the solve (solve_fields.cpp) and the certificates (certificate_fields.cpp)
// only see this form. User units throughout.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/domain.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

constexpr int kMaxMatrixSize = 8;  // OMT_MAX_K of hermitian_eig.h
constexpr int kMaxPlanes = 64;     // OMT_MAX_PLANES of field_math.h

struct PreparedField {
  Domain domain;
  bool matrix = false;
  int k = 1;       // channels, or the matrix size
  int planes = 1;  // k, or k * k
  SpatialProx spatial = SpatialProx::soft;
  ExchangeProx exchange = ExchangeProx::soft;
  int blocks = 0, block_size = 1;
  std::vector<double> coupling;  // planes x (blocks * block_size): (K x)_p in-cell part
  std::vector<double> cost;      // per block: alpha * weight, >= 0
  std::vector<double> rhs;       // (planes, cells): a - b, normalized and rebalanced
  double total_mass = 0;         // sum of a (total trace for matrices)
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
};

PreparedField prepare_vector(const VectorProblem& problem);
PreparedField prepare_matrix(const MatrixProblem& problem);

// Eigen-decomposition of a real symmetric n x n matrix (row-major) by cyclic
// Jacobi: eigenvalues ascending, eigenvectors as the columns of `vectors`.
void symmetric_eigen(int n, std::vector<double> a, std::vector<double>& values,
                     std::vector<double>& vectors);

// coupling coupling^T (planes x planes, coupling row-major planes x cols)
// = vectors diag(values) vectors^T, by symmetric_eigen.
void coupling_modes(int planes, int cols, const std::vector<double>& coupling, std::vector<double>& values,
                    std::vector<double>& vectors);

// Hermitian k x k matrix <-> its k^2 real coordinates (field_math.h's basis);
// matrices are interleaved (re, im) pairs, row-major.
void matrix_to_coords(int k, const double* interleaved, double* coords);
void coords_to_matrix(int k, const double* coords, double* interleaved);

}  // namespace omtcore::detail

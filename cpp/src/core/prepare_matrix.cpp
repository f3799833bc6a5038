// Validation of matrix problems, and the small dense linear algebra of the
// problem form: symmetric eigen-decomposition, Hermitian coordinates.
#include "core/problem.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "omtcore/errors.hpp"

#define OMT_FN static inline
namespace omtcore::detail::host_eig {
using std::fabs;
using std::sqrt;
typedef double real_t;
#include "kernels/hermitian_eig.h"
}  // namespace omtcore::detail::host_eig
#undef OMT_FN

namespace omtcore::detail {

namespace {

constexpr double kHermitianTolerance = 1e-8;  // and "eigenvalue below -1e-8 times the largest"
using cplx = std::complex<double>;

std::string part_name(const Domain& dom, int q, std::int64_t first) {
  return dom.parts == 1 ? std::string("")
                        : " on part " + std::to_string(q) + " of the mask (the part containing cell " +
                              cell_string(dom, first) + ")";
}

// First cell of each part, for messages.
std::vector<std::int64_t> first_cells(const Domain& dom) {
  std::vector<std::int64_t> first(dom.parts, -1);
  for (std::int64_t i = 0; i < dom.cells; ++i)
    if (const int q = dom.part_of(i); q >= 0 && first[q] < 0) first[q] = i;
  return first;
}

}  // namespace

void hermitian_eig(int k, double* re, double* im, double* w, double* vre, double* vim) {
  host_eig::omt_herm_eig(k, re, im, w, vre, vim);
}

double hermitian_norm(int k, const double* re, const double* im, bool nuclear) {
  return nuclear ? host_eig::omt_herm_nuclear_norm(k, re, im) : host_eig::omt_herm_op_norm(k, re, im);
}

void symmetric_eigen(int n, std::vector<double> a, std::vector<double>& values,
                     std::vector<double>& vectors) {
  vectors.assign(std::size_t(n) * n, 0.0);
  for (int i = 0; i < n; ++i) vectors[i * n + i] = 1;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0, total = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        total += a[i * n + j] * a[i * n + j];
        if (i != j) off += a[i * n + j] * a[i * n + j];
      }
    if (off <= 1e-30 * total || off == 0) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) continue;
        // Rotation zeroing a[p][q] (Golub and Van Loan, symmetric Schur).
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int r = 0; r < n; ++r) {
          const double arp = a[r * n + p], arq = a[r * n + q];
          a[r * n + p] = c * arp - s * arq;
          a[r * n + q] = s * arp + c * arq;
        }
        for (int r = 0; r < n; ++r) {
          const double apr = a[p * n + r], aqr = a[q * n + r];
          a[p * n + r] = c * apr - s * aqr;
          a[q * n + r] = s * apr + c * aqr;
        }
        for (int r = 0; r < n; ++r) {
          const double vrp = vectors[r * n + p], vrq = vectors[r * n + q];
          vectors[r * n + p] = c * vrp - s * vrq;
          vectors[r * n + q] = s * vrp + c * vrq;
        }
      }
  }
  // Sort ascending, columns with their values.
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int x, int y) { return a[x * n + x] < a[y * n + y]; });
  std::vector<double> sorted(std::size_t(n) * n);
  values.resize(n);
  for (int c = 0; c < n; ++c) {
    values[c] = a[order[c] * n + order[c]];
    for (int r = 0; r < n; ++r) sorted[r * n + c] = vectors[r * n + order[c]];
  }
  vectors.swap(sorted);
}

void coupling_modes(int planes, int cols, const std::vector<double>& coupling, std::vector<double>& values,
                    std::vector<double>& vectors) {
  std::vector<double> cct(std::size_t(planes) * planes, 0.0);
  for (int p = 0; p < planes; ++p)
    for (int q = 0; q < planes; ++q) {
      double acc = 0;
      for (int c = 0; c < cols; ++c) acc += coupling[p * cols + c] * coupling[q * cols + c];
      cct[p * planes + q] = acc;
    }
  symmetric_eigen(planes, std::move(cct), values, vectors);
}

void matrix_to_coords(int k, const double* m, double* x) {
  const double r2 = std::sqrt(2.0);
  for (int j = 0; j < k; ++j) {
    x[j * k + j] = m[2 * (j * k + j)];
    for (int l = j + 1; l < k; ++l) {
      x[j * k + l] = r2 * m[2 * (j * k + l)];
      x[l * k + j] = r2 * m[2 * (j * k + l) + 1];
    }
  }
}

void coords_to_matrix(int k, const double* x, double* m) {
  const double r = 1 / std::sqrt(2.0);
  for (int j = 0; j < k; ++j) {
    m[2 * (j * k + j)] = x[j * k + j];
    m[2 * (j * k + j) + 1] = 0;
    for (int l = j + 1; l < k; ++l) {
      m[2 * (j * k + l)] = m[2 * (l * k + j)] = r * x[j * k + l];
      m[2 * (j * k + l) + 1] = r * x[l * k + j];
      m[2 * (l * k + j) + 1] = -r * x[l * k + j];
    }
  }
}

Problem prepare(const MatrixProblem& pr) {
  Problem f;
  f.domain = Domain::build(pr.grid, pr.mask);
  const Domain& dom = f.domain;
  const int k = pr.k;
  if (k < 1 || k > kMaxMatrixSize)
    throw InvalidInputError("matrix size k must be between 1 and " + std::to_string(kMaxMatrixSize) +
                            " (fixed-size per-cell eigensolver arrays in the kernels); got " + std::to_string(k));
  check_alpha(pr.alpha);
  const int P = k * k;
  f.kind = Kind::matrix;
  f.k = k;
  f.planes = P;
  f.spatial = pr.matrix_norm == MatrixNorm::frobenius ? SpatialProx::group_all : SpatialProx::nuclear;
  f.exchange = pr.matrix_norm == MatrixNorm::frobenius ? ExchangeProx::group : ExchangeProx::nuclear;

  // L: validate, then the coupling column of W_l's basis element B_j is the
  // coordinates of i (L_l B_j - B_j L_l).
  std::vector<double> L = pr.L ? *pr.L : gell_mann(k);
  const std::size_t mat = 2 * std::size_t(k) * k;
  if (L.size() % mat != 0)
    throw InvalidInputError("L must hold whole k x k complex matrices (" + std::to_string(mat) +
                            " numbers each); got " + std::to_string(L.size()) + " numbers");
  const int N = static_cast<int>(L.size() / mat);
  std::vector<std::vector<cplx>> Ls(N, std::vector<cplx>(std::size_t(k) * k));
  for (int l = 0; l < N; ++l) {
    double scale = 0, asym = 0;
    for (int r = 0; r < k; ++r)
      for (int c = 0; c < k; ++c) {
        const cplx x(L[l * mat + 2 * (r * k + c)], L[l * mat + 2 * (r * k + c) + 1]);
        const cplx y(L[l * mat + 2 * (c * k + r)], L[l * mat + 2 * (c * k + r) + 1]);
        if (!std::isfinite(x.real()) || !std::isfinite(x.imag()))
          throw InvalidInputError("L[" + std::to_string(l) + "] has a non-finite entry");
        scale = std::max(scale, std::abs(x));
        asym = std::max(asym, std::abs(x - std::conj(y)));
        Ls[l][r * k + c] = x;
      }
    if (asym > kHermitianTolerance * scale)
      throw InvalidInputError("L[" + std::to_string(l) + "] is not Hermitian (largest |L - L^*| entry " +
                              num(asym) + ")");
  }
  f.blocks = N;
  f.block_size = P;
  const int cols = N * P;
  f.coupling.assign(std::size_t(P) * cols, 0.0);
  f.cost.assign(N, pr.alpha);
  {
    std::vector<double> basis(P), m(mat), coords(P);
    for (int l = 0; l < N; ++l)
      for (int j = 0; j < P; ++j) {
        std::fill(basis.begin(), basis.end(), 0.0);
        basis[j] = 1;
        coords_to_matrix(k, basis.data(), m.data());
        std::vector<cplx> B(std::size_t(k) * k), C(std::size_t(k) * k);
        for (int e = 0; e < k * k; ++e) B[e] = cplx(m[2 * e], m[2 * e + 1]);
        for (int r = 0; r < k; ++r)
          for (int c = 0; c < k; ++c) {
            cplx acc = 0;
            for (int t = 0; t < k; ++t) acc += Ls[l][r * k + t] * B[t * k + c] - B[r * k + t] * Ls[l][t * k + c];
            C[r * k + c] = cplx(0, 1) * acc;
          }
        for (int e = 0; e < k * k; ++e) {
          m[2 * e] = C[e].real();
          m[2 * e + 1] = C[e].imag();
        }
        matrix_to_coords(k, m.data(), coords.data());
        for (int p = 0; p < P; ++p) f.coupling[std::size_t(p) * cols + l * P + j] = coords[p];
      }
  }
  coupling_modes(f.planes, f.blocks * f.block_size, f.coupling, f.mode_eigenvalues, f.modes);
  // The commutant of L: eigenvectors of coupling coupling^T with eigenvalue 0.
  const double top = f.mode_eigenvalues.empty() ? 0.0 : f.mode_eigenvalues.back();
  for (int p = 0; p < P; ++p)
    if (f.mode_eigenvalues[p] <= 1e-9 * top) {
      for (int q = 0; q < P; ++q) f.conserved_basis.push_back(f.modes[q * P + p]);
      ++f.conserved;
    }

  add_source(f, check_unbalanced(pr.unbalanced));

  // Matrices: finite, Hermitian, PSD, nothing outside the mask; stored as planes.
  const std::int64_t n = dom.cells;
  std::vector<double> a(std::size_t(P) * n), b(std::size_t(P) * n);
  double tr_a = 0, tr_b = 0;
  // The unit of mass (Problem::unit) from the largest finite entry; with
  // normalize each input's own, so that inputs of very different scales
  // both stay in range.
  double largest[2] = {0, 0};
  for (int which = 0; which < 2; ++which)
    for (std::int64_t e = 0; !(which ? pr.b : pr.a).empty() && e < n * std::int64_t(mat); ++e) {
      const double x = (which ? pr.b : pr.a)[e];
      if (std::isfinite(x)) largest[which] = std::max(largest[which], std::fabs(x));
    }
  f.unit = mass_unit(std::max(largest[0], largest[1]));
  for (int which = 0; which < 2; ++which) {
    const double input_unit = pr.normalize ? mass_unit(largest[which]) : f.unit, inv_unit = 1 / input_unit;
    const Values src = which == 0 ? pr.a : pr.b;
    const char* name = which == 0 ? "A" : "B";
    std::vector<double>& dst = which == 0 ? a : b;
    if (src.empty()) throw InvalidInputError(std::string(name) + " is missing (null pointer)");
    std::vector<double> herm(mat), coords(P), re(P), im(P), w(k), vre(P), vim(P);
    for (std::int64_t i = 0; i < n; ++i) {
      const Values x = src.from(i * mat);
      const std::string where = " at cell " + cell_string(dom, i);
      double scale = 0, asym = 0;
      for (int r = 0; r < k; ++r)
        for (int c = 0; c < k; ++c) {
          const cplx v(x[2 * (r * k + c)], x[2 * (r * k + c) + 1]), u(x[2 * (c * k + r)], x[2 * (c * k + r) + 1]);
          if (!std::isfinite(v.real()) || !std::isfinite(v.imag()))
            throw InvalidInputError(std::string(name) + " has a non-finite entry" + where);
          scale = std::max(scale, std::abs(v));
          asym = std::max(asym, std::abs(v - std::conj(u)));
          const cplx sym = 0.5 * (v + std::conj(u));
          herm[2 * (r * k + c)] = sym.real() * inv_unit;
          herm[2 * (r * k + c) + 1] = r == c ? 0.0 : sym.imag() * inv_unit;
        }
      if (asym > kHermitianTolerance * scale)
        throw InvalidInputError(std::string(name) + " is not Hermitian" + where + " (largest |X - X^*| entry " +
                                num(asym) + ", largest entry " + num(scale) + ")");
      if (scale != 0 && !dom.inside[i])
        throw InvalidInputError(std::string(name) + " puts mass outside the mask" + where);
      for (int e = 0; e < P; ++e) {
        re[e] = herm[2 * e];
        im[e] = herm[2 * e + 1];
      }
      hermitian_eig(k, re.data(), im.data(), w.data(), vre.data(), vim.data());
      double lo = w[0], hi = 0;
      for (int e = 0; e < k; ++e) {
        lo = std::min(lo, w[e]);
        hi = std::max(hi, std::fabs(w[e]));
      }
      if (lo < -kHermitianTolerance * hi)
        throw InvalidInputError(std::string(name) + " is not positive semidefinite" + where +
                                " (eigenvalue " + num(lo * input_unit) + ", largest " + num(hi * input_unit) + ")");
      matrix_to_coords(k, herm.data(), coords.data());
      for (int p = 0; p < P; ++p) dst[p * n + i] = coords[p];
      double tr = 0;
      for (int e = 0; e < k; ++e) tr += herm[2 * (e * k + e)];
      (which == 0 ? tr_a : tr_b) += tr;
    }
  }
  if (pr.normalize) {
    if (!(tr_a > 0 && tr_b > 0))
      throw InvalidInputError(std::string("normalize=True needs positive total trace; ") + (tr_a > 0 ? "B" : "A") +
                              " has trace 0");
    for (double& x : a) x /= tr_a;
    for (double& x : b) x /= tr_b;
    f.unit = 1;  // the answer is the normalized problem's
  }
  // Balance per part: first the total trace (rebalanced by scaling B), then
  // every other direction of the commutant (rebalanced by adding its small
  // remainder to B in proportion to each cell's trace).
  const auto first = first_cells(dom);
  std::vector<double> trace_dir(P, 0.0);
  for (int j = 0; j < k; ++j) trace_dir[j * k + j] = 1;
  auto part_totals = [&](const std::vector<double>& x, int q) {
    std::vector<double> t(P, 0.0);
    for (int p = 0; p < P; ++p)
      for (std::int64_t i = 0; i < n; ++i)
        if (dom.part_of(i) == q) t[p] += x[p * n + i];
    return t;
  };
  for (int q = 0; q < (f.unbalanced() ? 0 : dom.parts); ++q) {  // unbalanced: no balance to keep
    const auto ta = part_totals(a, q), tb = part_totals(b, q);
    double tra = 0, trb = 0;
    for (int j = 0; j < k; ++j) {
      tra += ta[j * k + j];
      trb += tb[j * k + j];
    }
    const double diff = std::fabs(tra - trb), scale = std::max(tra, trb);
    if (diff > kRebalanceTolerance * scale)
      throw InvalidInputError("unequal total trace" + part_name(dom, q, first[q]) + ": A sums to trace " +
                              num(tra * f.unit) + ", B to " + num(trb * f.unit) + " (relative difference " + num(diff / scale) + " > " +
                              num(kRebalanceTolerance) + ")" + (pr.normalize ? "" : "; pass normalize=True to compare shapes only"));
    if (trb > 0 && tra != trb)
      for (int p = 0; p < P; ++p)
        for (std::int64_t i = 0; i < n; ++i)
          if (dom.part_of(i) == q) b[p * n + i] *= tra / trb;
    // The rest of the commutant: (sum A - sum B) projected onto it.
    const auto ua = part_totals(a, q), ub = part_totals(b, q);
    std::vector<double> remainder(P, 0.0);
    double size = 0;
    for (int c = 0; c < f.conserved; ++c) {
      const double* u = &f.conserved_basis[std::size_t(c) * P];
      double z = 0;
      for (int p = 0; p < P; ++p) z += u[p] * (ua[p] - ub[p]);
      for (int p = 0; p < P; ++p) remainder[p] += z * u[p];
      size += z * z;
    }
    if (std::sqrt(size) > kRebalanceTolerance * std::max(scale, 1e-300) && size > 0)
      throw InvalidInputError(
          "A and B are not balanced against the commutant of L" + part_name(dom, q, first[q]) +
          ": sum(A - B) has a component of size " + num(std::sqrt(size) * f.unit) + " (total trace " + num(scale * f.unit) +
          ") along matrices commuting with every L_l, which the in-cell flux cannot change "
          "(e.g. diagonal inputs with only diagonal L must have equal diagonals)");
    if (size > 0 && tra > 0)
      for (std::int64_t i = 0; i < n; ++i) {
        if (dom.part_of(i) != q) continue;
        double tr_i = 0;
        for (int j = 0; j < k; ++j) tr_i += b[(j * k + j) * n + i];
        for (int p = 0; p < P; ++p) b[p * n + i] += remainder[p] * tr_i / tra;
      }
  }
  f.rhs.resize(std::size_t(P) * n);
  for (std::int64_t e = 0; e < std::int64_t(f.rhs.size()); ++e) f.rhs[e] = a[e] - b[e];
  double trace_b = 0;
  for (int j = 0; j < k; ++j)
    for (std::int64_t i = 0; i < n; ++i) {
      f.total_mass += a[(j * k + j) * n + i];
      trace_b += b[(j * k + j) * n + i];
    }
  if (f.unbalanced()) f.total_mass = std::max(f.total_mass, trace_b);  // the larger total scales the residual
  return f;
}

}  // namespace omtcore::detail

namespace omtcore {

std::vector<double> gell_mann(int k) {
  if (k < 1) throw InvalidInputError("gell_mann: the matrix size k must be at least 1; got " + std::to_string(k));
  std::vector<double> out;
  auto blank = [&] { out.resize(out.size() + 2 * std::size_t(k) * k, 0.0); return out.size() - 2 * std::size_t(k) * k; };
  for (int j = 0; j < k; ++j)
    for (int l = j + 1; l < k; ++l) {
      std::size_t o = blank();
      out[o + 2 * (j * k + l)] = out[o + 2 * (l * k + j)] = 1;
    }
  for (int j = 0; j < k; ++j)
    for (int l = j + 1; l < k; ++l) {
      std::size_t o = blank();
      out[o + 2 * (j * k + l) + 1] = -1;
      out[o + 2 * (l * k + j) + 1] = 1;
    }
  for (int m = 1; m < k; ++m) {
    std::size_t o = blank();
    const double c = std::sqrt(2.0 / (double(m) * (m + 1)));
    for (int j = 0; j < m; ++j) out[o + 2 * (j * k + j)] = c;
    out[o + 2 * (m * k + m)] = -c * m;
  }
  return out;
}

}  // namespace omtcore

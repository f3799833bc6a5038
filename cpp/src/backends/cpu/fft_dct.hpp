// Poisson solve on the full rectangle by fast DCTs: x <- C^T diag(1/lambda) C x
// with C the orthonormal DCT-II, applied axis by axis in O(N log n) through
// KissFFT's complex FFT (BSD-3, Debian libkissfft-dev, header-only template).
//
// DCT-II of a real row x of length n by one complex FFT of the same length
// (Makhoul 1980): v = (x0, x2, x4, ..., x5, x3, x1), X_k = Re(e^{-i pi k/2n} V_k).
// Its exact inverse: V_k = e^{i pi k/2n} (X_k - i X_{n-k}) (X_n = 0),
// v = IFFT(V) / n, then undo the reordering. Two real rows share one complex
// FFT (one as the real, one as the imaginary part), halving the work.
// The unnormalised forward transform and the 1/n of the inverse are folded
// into the eigenvalue scaling, so a solve is 2d axis passes and one scaling.
#pragma once

#include <kissfft/kissfft.hh>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/backend.hpp"

namespace omtcore::detail {

template <class T>
class FftDctPoisson {
  using cpx = std::complex<T>;

 public:
  explicit FftDctPoisson(const ScalarSetup& setup) : dom_(*setup.domain) {
    const double pi = 3.14159265358979323846;
#ifdef _OPENMP
    threads_ = omp_get_max_threads();
#endif
    std::int64_t longest = 1;
    for (int s = 0; s < dom_.d; ++s) {
      const std::int64_t n = dom_.n[s];
      longest = std::max(longest, n);
      twiddle_[s].resize(n);
      for (std::int64_t k = 0; k < n; ++k)
        twiddle_[s][k] = cpx(static_cast<T>(std::cos(pi * k / (2.0 * n))),
                             static_cast<T>(-std::sin(pi * k / (2.0 * n))));
      // One plan per thread and direction: KissFFT's generic-radix butterfly
      // writes into a scratch buffer inside the plan.
      for (int t = 0; t < threads_; ++t) {
        forward_[s].emplace_back(static_cast<std::size_t>(n), false);
        inverse_[s].emplace_back(static_cast<std::size_t>(n), true);
      }
    }
    // Per-thread row buffers: two real rows in, one complex row each way.
    scratch_.resize(threads_);
    for (auto& buf : scratch_) buf.resize(2 * longest);
    double volume = 1;
    for (int s = 0; s < dom_.d; ++s) volume *= static_cast<double>(dom_.n[s]);
    // 1 / eigenvalue of K K^T per coefficient, times the inverse's 1/N; 0 for
    // the constant mode, which the right-hand side never has.
    inv_eigenvalue_.resize(dom_.cells);
    for (std::int64_t i = 0; i < dom_.cells; ++i) {
      double lambda = 0;
      for (int s = 0; s < dom_.d; ++s)
        lambda += setup.laplacian_eigenvalues[s][(i / dom_.stride[s]) % dom_.n[s]];
      inv_eigenvalue_[i] = static_cast<T>(lambda > 0 ? 1.0 / (lambda * volume) : 0.0);
    }
    // Warm the plans once so that their scratch buffers are sized before the loop.
    std::vector<T> probe(dom_.cells, T(0));
    solve(probe.data());
  }

  // x <- (K K^T)^+ x, in place. Allocates nothing.
  void solve(T* x) {
    for (int s = 0; s < dom_.d; ++s) axis_pass(s, false, x);
    const std::int64_t n_cells = dom_.cells;
#pragma omp parallel for schedule(static) if (n_cells >= (1 << 15))
    for (std::int64_t i = 0; i < n_cells; ++i) x[i] *= inv_eigenvalue_[i];
    for (int s = dom_.d - 1; s >= 0; --s) axis_pass(s, true, x);
  }

 private:
  // Transforms every row along axis s in place, rows taken two at a time.
  void axis_pass(int s, bool inverse, T* x) {
    const std::int64_t n = dom_.n[s], inner = dom_.stride[s];
    const std::int64_t rows = dom_.cells / n, pairs = (rows + 1) / 2;
    const bool parallel = dom_.cells >= (1 << 14) && threads_ > 1;
#pragma omp parallel for schedule(static) num_threads(threads_) if (parallel)
    for (std::int64_t p = 0; p < pairs; ++p) {
      int t = 0;
#ifdef _OPENMP
      t = omp_get_thread_num();
#endif
      const std::int64_t r0 = 2 * p, r1 = std::min(2 * p + 1, rows - 1);
      T* row0 = x + (r0 / inner) * n * inner + r0 % inner;
      T* row1 = r1 != r0 ? x + (r1 / inner) * n * inner + r1 % inner : nullptr;
      if (inverse)
        inverse_rows(s, t, row0, row1, inner);
      else
        forward_rows(s, t, row0, row1, inner);
    }
  }

  void forward_rows(int s, int t, T* row0, T* row1, std::int64_t stride) {
    const std::int64_t n = dom_.n[s];
    cpx* z = scratch_[t].data();
    cpx* Z = z + n;
    for (std::int64_t m = 0; 2 * m < n; ++m) {  // even samples forward
      z[m] = cpx(row0[2 * m * stride], row1 ? row1[2 * m * stride] : T(0));
    }
    for (std::int64_t m = 0; 2 * m + 1 < n; ++m) {  // odd samples backward
      z[n - 1 - m] = cpx(row0[(2 * m + 1) * stride], row1 ? row1[(2 * m + 1) * stride] : T(0));
    }
    forward_[s][t].transform(z, Z);
    const cpx* w = twiddle_[s].data();
    for (std::int64_t k = 0; k < n; ++k) {
      // Split the two real rows' spectra: V0 = (Z_k + conj Z_{n-k}) / 2, V1 = (Z_k - conj Z_{n-k}) / 2i.
      const cpx zk = Z[k], zc = std::conj(Z[k == 0 ? 0 : n - k]);
      const cpx v0 = T(0.5) * (zk + zc);
      const cpx v1 = cpx(0, T(-0.5)) * (zk - zc);
      row0[k * stride] = (w[k] * v0).real();
      if (row1) row1[k * stride] = (w[k] * v1).real();
    }
  }

  void inverse_rows(int s, int t, T* row0, T* row1, std::int64_t stride) {
    const std::int64_t n = dom_.n[s];
    cpx* Z = scratch_[t].data();
    cpx* z = Z + n;
    const cpx* w = twiddle_[s].data();
    for (std::int64_t k = 0; k < n; ++k) {
      // V = conj(w_k) (X_k - i X_{n-k}) per row; pack as V0 + i V1.
      const T a0 = row0[k * stride], b0 = k == 0 ? T(0) : row0[(n - k) * stride];
      const T a1 = row1 ? row1[k * stride] : T(0);
      const T b1 = row1 && k != 0 ? row1[(n - k) * stride] : T(0);
      const cpx wc = std::conj(w[k]);
      Z[k] = wc * cpx(a0, -b0) + cpx(0, 1) * (wc * cpx(a1, -b1));
    }
    inverse_[s][t].transform(Z, z);
    for (std::int64_t m = 0; 2 * m < n; ++m) {
      row0[2 * m * stride] = z[m].real();
      if (row1) row1[2 * m * stride] = z[m].imag();
    }
    for (std::int64_t m = 0; 2 * m + 1 < n; ++m) {
      row0[(2 * m + 1) * stride] = z[n - 1 - m].real();
      if (row1) row1[(2 * m + 1) * stride] = z[n - 1 - m].imag();
    }
  }

  const Domain& dom_;
  int threads_ = 1;
  std::array<std::vector<cpx>, 3> twiddle_;  // e^{-i pi k / 2n} per axis
  std::array<std::vector<kissfft<T>>, 3> forward_, inverse_;
  std::vector<std::vector<cpx>> scratch_;
  std::vector<T> inv_eigenvalue_;
};

}  // namespace omtcore::detail

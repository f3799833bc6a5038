// The C++ tests' reference Poisson solve: the orthonormal DCT-II applied as a
// dense matrix along each axis: O(cells * sum(n_s)) work per solve. Not used by
// the solver (batched_dct.hpp is); kept as the straightforward reference that
// the C++ tests check the fast transform against.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/backend.hpp"

namespace omtcore::detail {

template <class T>
class DenseDctPoisson {
 public:
  explicit DenseDctPoisson(const GridSetup& setup) : dom_(*setup.domain) {
    const double pi = 3.14159265358979323846;
    for (int s = 0; s < dom_.d; ++s) {
      const std::int64_t n = dom_.n[s];
      auto& c = matrix_[s];
      c.resize(n * n);
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t i = 0; i < n; ++i)
          c[k * n + i] = static_cast<T>(std::sqrt((k == 0 ? 1.0 : 2.0) / n) *
                                        std::cos(pi * k * (2 * i + 1) / (2.0 * n)));
    }
    // 1 / eigenvalue of K K^T per transform coefficient; 0 for the constant mode,
    // which the right-hand side never has (it sums to zero on each part).
    inv_eigenvalue_.resize(dom_.cells);
    for (std::int64_t i = 0; i < dom_.cells; ++i) {
      double lambda = 0;
      for (int s = 0; s < dom_.d; ++s)
        lambda += setup.laplacian_eigenvalues[s][(i / dom_.stride[s]) % dom_.n[s]];
      inv_eigenvalue_[i] = static_cast<T>(lambda > 0 ? 1.0 / lambda : 0.0);
    }
    work_.resize(dom_.cells);
  }

  // x <- (K K^T)^+ x. Uses x and an internal buffer; allocates nothing.
  void solve(T* x) {
    T* bufs[2] = {x, work_.data()};
    int cur = 0;
    for (int s = 0; s < dom_.d; ++s, cur ^= 1) apply_axis(s, false, bufs[cur], bufs[cur ^ 1]);
    T* coeff = bufs[cur];
    const std::int64_t n_cells = dom_.cells;
#pragma omp parallel for schedule(static) if (n_cells >= (1 << 15))
    for (std::int64_t i = 0; i < n_cells; ++i) coeff[i] *= inv_eigenvalue_[i];
    for (int s = 0; s < dom_.d; ++s, cur ^= 1) apply_axis(s, true, bufs[cur], bufs[cur ^ 1]);
    if (cur != 0) std::copy(work_.begin(), work_.end(), x);
  }

 private:
  // dst = C_s src (or C_s^T src) along axis s of a C-order array.
  void apply_axis(int s, bool transpose, const T* src, T* dst) const {
    const std::int64_t n = dom_.n[s], inner = dom_.stride[s], outer = dom_.cells / (n * inner);
    const T* c = matrix_[s].data();
#pragma omp parallel for collapse(2) schedule(static) if (dom_.cells * n >= (1 << 18))
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t k = 0; k < n; ++k) {
        T* out = dst + (o * n + k) * inner;
        const T* in = src + o * n * inner;
        if (inner == 1) {
          T acc = 0;
          for (std::int64_t i = 0; i < n; ++i) acc += (transpose ? c[i * n + k] : c[k * n + i]) * in[i];
          out[0] = acc;
          continue;
        }
        for (std::int64_t j = 0; j < inner; ++j) out[j] = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          const T w = transpose ? c[i * n + k] : c[k * n + i];
          const T* row = in + i * inner;
          for (std::int64_t j = 0; j < inner; ++j) out[j] += w * row[j];
        }
      }
  }

  const Domain& dom_;
  std::array<std::vector<T>, 3> matrix_;
  std::vector<T> inv_eigenvalue_;
  std::vector<T> work_;
};

}  // namespace omtcore::detail

// Poisson solve on the full rectangle by fast DCTs computed in batches:
// x <- C^T diag(1/lambda) C x, C the orthonormal DCT-II, axis by axis.
//
// Each axis pass transforms many rows at once: a block of kLanes rows is
// packed into a scratch array of n x kLanes/2 complex values (two real rows per
// complex row), so that every butterfly of the FFT is a loop over contiguous
// lanes that the compiler vectorises, on any x86-64 or ARM baseline. The FFT
// (transforms/fft.hpp) takes O(n log n) for every length. DCT-II by one complex FFT of the same length (Makhoul 1980):
// v = (x0, x2, x4, ..., x5, x3, x1), X_k = Re(e^{-i pi k/2n} V_k); its inverse
// V_k = e^{i pi k/2n} (X_k - i X_{n-k}), v = IFFT(V) / n, undo the reordering.
// The unnormalised forward transform and the inverse's 1/n are folded into the
// eigenvalue scaling. Written here rather than taken from a library: no
// permissive fast DCT is packaged for Debian or PyPI (pocketfft is not, FFTW is
// GPL), and KissFFT, which transforms one row at a time, was about 3x slower
// per iteration (benchmarks/RESULTS.md, "2026-11-25 · 2-core CPU · moved from code comments").
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/backend.hpp"
#include "transforms/fft.hpp"

namespace omtcore::detail {

template <class T>
class BatchedDctPoisson {
  static constexpr int kHalf = 16;         // complex lanes per block
  static constexpr int kLanes = 2 * kHalf;  // real rows per block
  static constexpr int kTile = 16;          // elements per lane in a transpose tile

 public:
  // Solves K K^T x = r, or (K K^T + shift I) x = r for a shift given per call
  // (the field problems' modes).
  explicit BatchedDctPoisson(const GridSetup& setup)
      : grid_(*setup.domain), rect_(setup.poisson) {
    if (rect_.extends(grid_)) extended_.assign(rect_.cells, T(0));
    const double pi = 3.14159265358979323846;
#ifdef _OPENMP
    threads_ = omp_get_max_threads();
#endif
    std::int64_t longest = 1, fft_scratch = 0;
    for (int s = 0; s < rect_.d; ++s) {
      const std::int64_t n = rect_.n[s];
      longest = std::max(longest, n);
      fft_.emplace_back(n);
      fft_scratch = std::max(fft_scratch, fft_.back().scratch());
      for (std::int64_t k = 0; k < n; ++k) {
        twiddle_re_[s].push_back(static_cast<T>(std::cos(pi * double(k) / (2.0 * double(n)))));
        twiddle_im_[s].push_back(static_cast<T>(-std::sin(pi * double(k) / (2.0 * double(n)))));
      }
    }
    // Per thread: the block's rows, two complex buffers, the FFT's own scratch.
    scratch_.resize(threads_);
    for (auto& buf : scratch_) buf.assign(6 * longest * kHalf + fft_scratch, T(0));
    double volume = 1;
    for (int s = 0; s < rect_.d; ++s) volume *= double(rect_.n[s]);
    // The eigenvalues of K K^T are sums of per-axis ones; they are summed per
    // coefficient on the fly (a table per cell would cost 4-8 bytes per cell).
    volume_ = volume;
    for (int s = 0; s < rect_.d; ++s) eigenvalues_[s] = setup.laplacian_eigenvalues[s];
  }

  // x <- (K K^T + shift I)^+ x, in place (shift: the field problems' modes).
  // Allocates nothing. The last axis is transformed, divided by the
  // eigenvalues and transformed back in one pass, its rows never leaving the
  // thread's scratch in between.
  // On an extended Poisson grid (core/backend.hpp, PoissonGrid), x is
  // copied into the rectangle, zero outside the grid, and the grid's cells
  // copied back: x <- P (K K^T + shift I)^+ P^T x.
  void solve(T* x, double shift = 0.0) {
    T* y = extended_.empty() ? x : extended_.data();
    if (y != x) copy_rows(x, true);
    const int last = rect_.d - 1;
    for (int s = 0; s < last; ++s) axis_pass(s, Pass::forward, y, shift);
    axis_pass(last, Pass::forward_divide_inverse, y, shift);
    for (int s = last - 1; s >= 0; --s) axis_pass(s, Pass::inverse, y, shift);
    if (y != x) copy_rows(x, false);
  }

 private:
  enum class Pass { forward, inverse, forward_divide_inverse };

  // Between x (the grid) and the extended rectangle, row by row of the last
  // axis; into the rectangle, the cells outside the grid are zeroed.
  void copy_rows(T* x, bool into) {
    const int last = rect_.d - 1;
    const std::int64_t len = grid_.n[last], long_len = rect_.n[last], rows = rect_.cells / long_len;
    const bool parallel = rect_.cells >= (1 << 14) && threads_ > 1;
#pragma omp parallel for schedule(static) num_threads(threads_) if (parallel)
    for (std::int64_t r = 0; r < rows; ++r) {
      std::int64_t rest = r, grid_row = 0;
      bool inside = true;
      for (int s = last - 1; s >= 0; --s) {
        const std::int64_t i = rest % rect_.n[s];
        rest /= rect_.n[s];
        inside = inside && i < grid_.n[s];
        grid_row += i * (grid_.stride[s] / len);
      }
      T* row = extended_.data() + r * long_len;
      T* cells = x + grid_row * len;
      if (!into) {
        if (inside) std::copy(row, row + len, cells);
      } else {
        if (inside) std::copy(cells, cells + len, row);
        std::fill(row + (inside ? len : 0), row + long_len, T(0));
      }
    }
  }

  // The last axis' coefficients of a block, raw[k * kLanes + l] for row l,
  // divided by (eigenvalue + shift) * N (N: the inverse transforms' 1/N); 0
  // where that is not positive (the constant mode, which the right-hand side
  // never has). The other axes' eigenvalues are summed once per row.
  void divide_block(const std::int64_t* row_of_lane, double shift, T* __restrict raw) const {
    const int last = rect_.d - 1;
    const std::int64_t len = rect_.n[last];
    const double* tail = eigenvalues_[last].data();
    T head[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      double sum = shift;
      for (int s = 0; s < last; ++s) sum += eigenvalues_[s][(row_of_lane[l] * len / rect_.stride[s]) % rect_.n[s]];
      head[l] = static_cast<T>(sum);
    }
    const T volume = static_cast<T>(volume_);
    // Only the last axis' constant mode (k = 0, eigenvalue 0) can meet a
    // non-positive sum: it alone is tested. A test in every lane, whatever
    // way it was written, became a branch that kept the loop below scalar;
    // in T, it vectorises twice as wide (benchmarks/RESULTS.md,
    // "2026-11-26 · 2-core CPU · vectorised loop, coarse tolerance at 1024², OR-Tools at 1024²").
    for (int l = 0; l < kLanes; ++l) {
      const T e = (head[l] + static_cast<T>(tail[0])) * volume;
      raw[l] = e > T(0) ? raw[l] / e : T(0);
    }
    for (std::int64_t k = 1; k < len; ++k) {
      T* row = raw + k * kLanes;
      const T t = static_cast<T>(tail[k]);  // > 0 for k > 0, and head >= 0
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) row[l] /= (head[l] + t) * volume;
    }
  }

  void axis_pass(int s, Pass pass, T* x, double shift) {
    const std::int64_t n = rect_.n[s], inner = rect_.stride[s];
    const std::int64_t rows = rect_.cells / n, blocks = (rows + kLanes - 1) / kLanes;
    const bool parallel = rect_.cells >= (1 << 14) && threads_ > 1 && blocks > 1;
#pragma omp parallel for schedule(static) num_threads(threads_) if (parallel)
    for (std::int64_t b = 0; b < blocks; ++b) {
      int t = 0;
#ifdef _OPENMP
      t = omp_get_thread_num();
#endif
      Block blk;
      blk.count = int(std::min<std::int64_t>(kLanes, rows - b * kLanes));
      blk.inner = inner;
      // Row r of this axis starts at (r / inner) * n * inner + r % inner.
      std::int64_t row_of_lane[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        const std::int64_t r = b * kLanes + std::min(l, blk.count - 1);
        row_of_lane[l] = r;
        blk.base[l] = (r / inner) * n * inner + r % inner;
      }
      blk.contiguous = blk.base[blk.count - 1] - blk.base[0] == blk.count - 1;
      T* p = scratch_[t].data();
      const std::int64_t len = n * kHalf;
      T* raw = p;  // the block's rows, lane-major: raw[k * kLanes + l]
      T* re[2] = {p + 2 * len, p + 4 * len};
      T* im[2] = {p + 3 * len, p + 5 * len};
      T* fft_scratch = p + 6 * len;
      if (blk.contiguous && blk.count == kLanes && pass != Pass::forward_divide_inverse) {
        // Full blocks of side-by-side rows are transformed in place, without
        // the copy to and from raw (two passes over the block of 8-9).
        T* rows = x + blk.base[0];
        if (pass == Pass::forward)
          forward_block(s, rows, inner, rows, inner, re, im, fft_scratch);
        else
          inverse_block(s, rows, inner, rows, inner, re, im, fft_scratch);
        continue;
      }
      load(x, blk, n, raw);
      if (pass != Pass::inverse) forward_block(s, raw, kLanes, raw, kLanes, re, im, fft_scratch);
      if (pass == Pass::forward_divide_inverse) divide_block(row_of_lane, shift, raw);
      if (pass != Pass::forward) inverse_block(s, raw, kLanes, raw, kLanes, re, im, fft_scratch);
      store(raw, blk, n, x);
    }
  }

  struct Block {
    std::int64_t base[kLanes];
    std::int64_t inner;
    int count;
    bool contiguous;  // rows side by side in memory: lane l at base[0] + l
  };

  // raw[k * kLanes + l] = row l's element k; lanes past the block's count are zero.
  static void load(const T* x, const Block& blk, std::int64_t n, T* __restrict raw) {
    if (blk.contiguous) {
      for (std::int64_t k = 0; k < n; ++k) {
        const T* src = x + blk.base[0] + k * blk.inner;
        T* dst = raw + k * kLanes;
        for (int l = 0; l < blk.count; ++l) dst[l] = src[l];
        for (int l = blk.count; l < kLanes; ++l) dst[l] = T(0);
      }
      return;
    }
    // A transpose, tile by tile: a tile of raw (kTile elements of every
    // lane) stays in L1 while every lane writes into it; lane by lane over
    // whole rows, each write missed L1 (benchmarks/RESULTS.md,
    // "2026-11-26 · 2-core CPU · vectorised loop, coarse tolerance at 1024², OR-Tools at 1024²").
    for (std::int64_t k0 = 0; k0 < n; k0 += kTile) {
      const std::int64_t kn = std::min<std::int64_t>(kTile, n - k0);
      for (int l = 0; l < kLanes; ++l) {
        T* dst = raw + k0 * kLanes + l;
        if (l >= blk.count) {
          for (std::int64_t j = 0; j < kn; ++j) dst[j * kLanes] = T(0);
          continue;
        }
        const T* src = x + blk.base[l] + k0 * blk.inner;
        for (std::int64_t j = 0; j < kn; ++j) dst[j * kLanes] = src[j * blk.inner];
      }
    }
  }

  static void store(const T* __restrict raw, const Block& blk, std::int64_t n, T* x) {
    if (blk.contiguous) {
      for (std::int64_t k = 0; k < n; ++k) {
        T* dst = x + blk.base[0] + k * blk.inner;
        const T* src = raw + k * kLanes;
        for (int l = 0; l < blk.count; ++l) dst[l] = src[l];
      }
      return;
    }
    for (std::int64_t k0 = 0; k0 < n; k0 += kTile) {  // tile by tile, as in load
      const std::int64_t kn = std::min<std::int64_t>(kTile, n - k0);
      for (int l = 0; l < blk.count; ++l) {
        T* dst = x + blk.base[l] + k0 * blk.inner;
        const T* src = raw + k0 * kLanes + l;
        for (std::int64_t j = 0; j < kn; ++j) dst[j * blk.inner] = src[j * kLanes];
      }
    }
  }

  // Source index of the reordered sequence v[m] (Makhoul): even samples
  // forward, odd samples backward.
  static std::int64_t source(std::int64_t m, std::int64_t n) {
    return 2 * m < n ? 2 * m : 2 * (n - 1 - m) + 1;
  }

  // Lanes l < kHalf are the real parts, lanes kHalf + l the imaginary parts
  // of one complex row: two real transforms for the price of one. Row l's
  // element k is read from in[k * in_stride + l] and written to
  // out[k * out_stride + l]; in and out may be the same rows (every input is
  // read before the first output is written).
  void forward_block(int s, const T* in, std::int64_t in_stride, T* out, std::int64_t out_stride, T* re[2],
                     T* im[2], T* fft_scratch) const {
    const std::int64_t n = rect_.n[s];
    for (std::int64_t m = 0; m < n; ++m) {
      const T* src = in + source(m, n) * in_stride;
      T* dr = re[0] + m * kHalf;
      T* di = im[0] + m * kHalf;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        dr[l] = src[l];
        di[l] = src[kHalf + l];
      }
    }
    const int done = fft_[s].forward(re, im, fft_scratch);
    const T* zr = re[done];
    const T* zi = im[done];
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t kc = k == 0 ? 0 : n - k;
      const T wr = twiddle_re_[s][k], wi = twiddle_im_[s][k];
      const T* ar = zr + k * kHalf;
      const T* ai = zi + k * kHalf;
      const T* cr = zr + kc * kHalf;
      const T* ci = zi + kc * kHalf;
      T* dst = out + k * out_stride;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        // Split the two real rows' spectra, then X = Re(w V).
        const T v0r = T(0.5) * (ar[l] + cr[l]), v0i = T(0.5) * (ai[l] - ci[l]);
        const T v1r = T(0.5) * (ai[l] + ci[l]), v1i = T(0.5) * (cr[l] - ar[l]);
        dst[l] = wr * v0r - wi * v0i;
        dst[kHalf + l] = wr * v1r - wi * v1i;
      }
    }
  }

  // As forward_block.
  void inverse_block(int s, const T* in, std::int64_t in_stride, T* out, std::int64_t out_stride, T* re[2],
                     T* im[2], T* fft_scratch) const {
    const std::int64_t n = rect_.n[s];
    for (std::int64_t k = 0; k < n; ++k) {
      // P = conj(w) (X_k - i X_{n-k}) per row (X_n = 0), Z = P0 + i P1, stored
      // conjugated: the inverse FFT is conj(FFT(conj Z)).
      const T wr = twiddle_re_[s][k], wi = twiddle_im_[s][k];
      const T* a = in + k * in_stride;
      const T* c = in + (k == 0 ? 0 : n - k) * in_stride;
      const T keep = k == 0 ? T(0) : T(1);
      T* dr = re[0] + k * kHalf;
      T* di = im[0] + k * kHalf;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        const T a0 = a[l], b0 = keep * c[l], a1 = a[kHalf + l], b1 = keep * c[kHalf + l];
        const T p0r = wr * a0 - wi * b0, p0i = -wr * b0 - wi * a0;
        const T p1r = wr * a1 - wi * b1, p1i = -wr * b1 - wi * a1;
        dr[l] = p0r - p1i;
        di[l] = -(p0i + p1r);
      }
    }
    const int done = fft_[s].forward(re, im, fft_scratch);
    const T* zr = re[done];
    const T* zi = im[done];
    for (std::int64_t m = 0; m < n; ++m) {
      T* dst = out + source(m, n) * out_stride;
      const T* sr = zr + m * kHalf;
      const T* si = zi + m * kHalf;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        dst[l] = sr[l];
        dst[kHalf + l] = -si[l];
      }
    }
  }

  const Domain& grid_;
  const PoissonGrid rect_;  // the rectangle the transforms run on (the grid, or extended)
  std::vector<T> extended_;  // that rectangle, where it extends the grid
  int threads_ = 1;
  std::vector<LaneFft<T, kHalf>> fft_;                // per axis
  std::array<std::vector<T>, 3> twiddle_re_, twiddle_im_;  // e^{-i pi k / 2n} per axis
  std::vector<std::vector<T>> scratch_;
  std::array<std::vector<double>, 3> eigenvalues_;  // of K K^T along each axis (setup)
  double volume_ = 1;
};

}  // namespace omtcore::detail

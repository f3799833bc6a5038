// Poisson solve on the full rectangle by fast DCTs computed in batches:
// x <- C^T diag(1/lambda) C x, C the orthonormal DCT-II, axis by axis.
//
// Each axis pass transforms many rows at once: a block of kLanes rows is
// packed into a scratch array of n x kLanes/2 complex values (two real rows per
// complex row), so that every butterfly of the FFT is a loop over contiguous
// lanes that the compiler vectorises, on any x86-64 or ARM baseline. The FFT is
// a self-sorting mixed-radix Stockham FFT (radix 4, 2 and a generic odd radix),
// any length. DCT-II by one complex FFT of the same length (Makhoul 1980):
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

// The FFT's butterflies, compiled twice on x86-64 and picked when the library
// loads: with AVX2 where the CPU has it (twice the lanes per instruction), else
// for the baseline the wheel targets. No FMA: both give the same numbers.
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define OMT_WIDE_SIMD __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef OMT_WIDE_SIMD
#define OMT_WIDE_SIMD
#endif

namespace omtcore::detail {

// A complex FFT of length n applied to kHalf lanes at once, split complex
// (re and im arrays, element e of lane l at e * kHalf + l).
template <class T, int kHalf>
class LaneFft {
 public:
  explicit LaneFft(std::int64_t n) : n_(n) {
    const double pi = 3.14159265358979323846;
    std::int64_t rest = n, span = 1;
    auto add_stage = [&](int radix) {
      Stage st{radix, span, {}, {}, {}, {}};
      for (int t = 0; t < radix; ++t) {
        st.root_re.push_back(static_cast<T>(std::cos(-2.0 * pi * t / radix)));
        st.root_im.push_back(static_cast<T>(std::sin(-2.0 * pi * t / radix)));
      }
      for (std::int64_t k = 0; k < span; ++k)
        for (int r = 0; r < radix; ++r) {
          const double angle = -2.0 * pi * double(r) * double(k) / double(span * radix);
          st.tw_re.push_back(static_cast<T>(std::cos(angle)));
          st.tw_im.push_back(static_cast<T>(std::sin(angle)));
        }
      stages_.push_back(std::move(st));
      span *= radix;
      rest /= radix;
      if (radix != 2 && radix != 4) max_generic_ = std::max(max_generic_, radix);
    };
    for (int radix : {4, 2})
      while (rest % radix == 0) add_stage(radix);
    for (int radix = 3; rest > 1; radix += 2)
      while (rest % radix == 0) add_stage(radix);
  }

  // Scratch the generic radix needs per call (complex values).
  std::int64_t generic_scratch() const { return 2 * std::int64_t(max_generic_) * kHalf; }

  // Transforms (re[0], im[0]) using (re[1], im[1]) as the other buffer of the
  // ping-pong; returns the index of the buffer holding the result.
  int forward(T* re[2], T* im[2], T* generic) const {
    int cur = 0;
    for (const Stage& st : stages_) {
      stage(st, re[cur], im[cur], re[cur ^ 1], im[cur ^ 1], generic);
      cur ^= 1;
    }
    return cur;
  }

 private:
  struct Stage {
    int radix;
    std::int64_t span;          // product of the radices before this stage
    std::vector<T> tw_re, tw_im;  // e^{-2 pi i r k / (span radix)} at [k * radix + r]
    std::vector<T> root_re, root_im;  // e^{-2 pi i t / radix}, for the generic radix
  };

  // One Stockham stage: y[(j / span) * span * R + k + r * span] = DFT_R over q of
  // x[j + q * n / R] * twiddle(q, k), k = j mod span.
  OMT_WIDE_SIMD void stage(const Stage& st, const T* __restrict xr, const T* __restrict xi, T* __restrict yr,
             T* __restrict yi, T* generic) const {
    const int R = st.radix;
    const std::int64_t m = n_ / R, span = st.span;
    // j = g * span + k, counted without a division per j (a 64-bit division
    // costs about as much as a radix-4 butterfly on 16 lanes).
    std::int64_t k = 0, base = 0;
    for (std::int64_t j = 0; j < m; ++j, ++k) {
      if (k == span) {
        k = 0;
        base += span * R;
      }
      const std::int64_t out = base + k;
      const T* wr = st.tw_re.data() + k * R;
      const T* wi = st.tw_im.data() + k * R;
      if (R == 2) {
        const T* ar = xr + j * kHalf;
        const T* ai = xi + j * kHalf;
        const T* br = xr + (j + m) * kHalf;
        const T* bi = xi + (j + m) * kHalf;
        T* y0r = yr + out * kHalf;
        T* y0i = yi + out * kHalf;
        T* y1r = yr + (out + span) * kHalf;
        T* y1i = yi + (out + span) * kHalf;
        const T w1r = wr[1], w1i = wi[1];
        #pragma omp simd
        for (int l = 0; l < kHalf; ++l) {
          const T tr = br[l] * w1r - bi[l] * w1i, ti = br[l] * w1i + bi[l] * w1r;
          y0r[l] = ar[l] + tr;
          y0i[l] = ai[l] + ti;
          y1r[l] = ar[l] - tr;
          y1i[l] = ai[l] - ti;
        }
      } else if (R == 4) {
        const T* x0r = xr + j * kHalf;
        const T* x0i = xi + j * kHalf;
        const T* x1r = xr + (j + m) * kHalf;
        const T* x1i = xi + (j + m) * kHalf;
        const T* x2r = xr + (j + 2 * m) * kHalf;
        const T* x2i = xi + (j + 2 * m) * kHalf;
        const T* x3r = xr + (j + 3 * m) * kHalf;
        const T* x3i = xi + (j + 3 * m) * kHalf;
        T* y0r = yr + out * kHalf;
        T* y0i = yi + out * kHalf;
        T* y1r = yr + (out + span) * kHalf;
        T* y1i = yi + (out + span) * kHalf;
        T* y2r = yr + (out + 2 * span) * kHalf;
        T* y2i = yi + (out + 2 * span) * kHalf;
        T* y3r = yr + (out + 3 * span) * kHalf;
        T* y3i = yi + (out + 3 * span) * kHalf;
        const T w1r = wr[1], w1i = wi[1], w2r = wr[2], w2i = wi[2], w3r = wr[3], w3i = wi[3];
        #pragma omp simd
        for (int l = 0; l < kHalf; ++l) {
          const T a0r = x0r[l], a0i = x0i[l];
          const T a1r = x1r[l] * w1r - x1i[l] * w1i, a1i = x1r[l] * w1i + x1i[l] * w1r;
          const T a2r = x2r[l] * w2r - x2i[l] * w2i, a2i = x2r[l] * w2i + x2i[l] * w2r;
          const T a3r = x3r[l] * w3r - x3i[l] * w3i, a3i = x3r[l] * w3i + x3i[l] * w3r;
          const T b0r = a0r + a2r, b0i = a0i + a2i, b1r = a0r - a2r, b1i = a0i - a2i;
          const T b2r = a1r + a3r, b2i = a1i + a3i;
          const T b3r = a1i - a3i, b3i = a3r - a1r;  // -i (a1 - a3)
          y0r[l] = b0r + b2r;
          y0i[l] = b0i + b2i;
          y2r[l] = b0r - b2r;
          y2i[l] = b0i - b2i;
          y1r[l] = b1r + b3r;
          y1i[l] = b1i + b3i;
          y3r[l] = b1r - b3r;
          y3i[l] = b1i - b3i;
        }
      } else {
        // Generic odd radix: twiddled inputs into scratch, then an O(R^2) DFT.
        T* gr = generic;
        T* gi = generic + R * kHalf;
        for (int q = 0; q < R; ++q) {
          const T* sr = xr + (j + q * m) * kHalf;
          const T* si = xi + (j + q * m) * kHalf;
          #pragma omp simd
          for (int l = 0; l < kHalf; ++l) {
            gr[q * kHalf + l] = sr[l] * wr[q] - si[l] * wi[q];
            gi[q * kHalf + l] = sr[l] * wi[q] + si[l] * wr[q];
          }
        }
        for (int r = 0; r < R; ++r) {
          T* dr = yr + (out + r * span) * kHalf;
          T* di = yi + (out + r * span) * kHalf;
          #pragma omp simd
          for (int l = 0; l < kHalf; ++l) {
            dr[l] = gr[l];
            di[l] = gi[l];
          }
          for (int q = 1; q < R; ++q) {
            const T cr = st.root_re[(q * r) % R], ci = st.root_im[(q * r) % R];
            #pragma omp simd
            for (int l = 0; l < kHalf; ++l) {
              dr[l] += gr[q * kHalf + l] * cr - gi[q * kHalf + l] * ci;
              di[l] += gr[q * kHalf + l] * ci + gi[q * kHalf + l] * cr;
            }
          }
        }
      }
    }
  }

  std::int64_t n_;
  std::vector<Stage> stages_;
  int max_generic_ = 0;
};

template <class T>
class BatchedDctPoisson {
  static constexpr int kHalf = 16;         // complex lanes per block
  static constexpr int kLanes = 2 * kHalf;  // real rows per block
  static constexpr int kTile = 16;          // elements per lane in a transpose tile

 public:
  // Solves K K^T x = r, or (K K^T + shift I) x = r for a shift given per call
  // (the field problems' modes).
  explicit BatchedDctPoisson(const GridSetup& setup)
      : dom_(*setup.domain) {
    const double pi = 3.14159265358979323846;
#ifdef _OPENMP
    threads_ = omp_get_max_threads();
#endif
    std::int64_t longest = 1, generic = 0;
    for (int s = 0; s < dom_.d; ++s) {
      const std::int64_t n = dom_.n[s];
      longest = std::max(longest, n);
      fft_.emplace_back(n);
      generic = std::max(generic, fft_.back().generic_scratch());
      for (std::int64_t k = 0; k < n; ++k) {
        twiddle_re_[s].push_back(static_cast<T>(std::cos(pi * double(k) / (2.0 * double(n)))));
        twiddle_im_[s].push_back(static_cast<T>(-std::sin(pi * double(k) / (2.0 * double(n)))));
      }
    }
    // Per thread: the block's rows, two complex buffers, generic-radix scratch.
    scratch_.resize(threads_);
    for (auto& buf : scratch_) buf.assign(6 * longest * kHalf + generic, T(0));
    double volume = 1;
    for (int s = 0; s < dom_.d; ++s) volume *= double(dom_.n[s]);
    // The eigenvalues of K K^T are sums of per-axis ones; they are summed per
    // coefficient on the fly (a table per cell would cost 4-8 bytes per cell).
    volume_ = volume;
    for (int s = 0; s < dom_.d; ++s) eigenvalues_[s] = setup.laplacian_eigenvalues[s];
  }

  // x <- (K K^T + shift I)^+ x, in place (shift: the field problems' modes).
  // Allocates nothing. The last axis is transformed, divided by the
  // eigenvalues and transformed back in one pass, its rows never leaving the
  // thread's scratch in between.
  void solve(T* x, double shift = 0.0) {
    const int last = dom_.d - 1;
    for (int s = 0; s < last; ++s) axis_pass(s, Pass::forward, x, shift);
    axis_pass(last, Pass::forward_divide_inverse, x, shift);
    for (int s = last - 1; s >= 0; --s) axis_pass(s, Pass::inverse, x, shift);
  }

 private:
  enum class Pass { forward, inverse, forward_divide_inverse };

  // The last axis' coefficients of a block, raw[k * kLanes + l] for row l,
  // divided by (eigenvalue + shift) * N (N: the inverse transforms' 1/N); 0
  // where that is not positive (the constant mode, which the right-hand side
  // never has). The other axes' eigenvalues are summed once per row.
  void divide_block(const std::int64_t* row_of_lane, double shift, T* __restrict raw) const {
    const int last = dom_.d - 1;
    const std::int64_t len = dom_.n[last];
    const double* tail = eigenvalues_[last].data();
    T head[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      double sum = shift;
      for (int s = 0; s < last; ++s) sum += eigenvalues_[s][(row_of_lane[l] * len / dom_.stride[s]) % dom_.n[s]];
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
    const std::int64_t n = dom_.n[s], inner = dom_.stride[s];
    const std::int64_t rows = dom_.cells / n, blocks = (rows + kLanes - 1) / kLanes;
    const bool parallel = dom_.cells >= (1 << 14) && threads_ > 1 && blocks > 1;
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
      T* generic = p + 6 * len;
      if (blk.contiguous && blk.count == kLanes && pass != Pass::forward_divide_inverse) {
        // Full blocks of side-by-side rows are transformed in place, without
        // the copy to and from raw (two passes over the block of 8-9).
        T* rows = x + blk.base[0];
        if (pass == Pass::forward)
          forward_block(s, rows, inner, rows, inner, re, im, generic);
        else
          inverse_block(s, rows, inner, rows, inner, re, im, generic);
        continue;
      }
      load(x, blk, n, raw);
      if (pass != Pass::inverse) forward_block(s, raw, kLanes, raw, kLanes, re, im, generic);
      if (pass == Pass::forward_divide_inverse) divide_block(row_of_lane, shift, raw);
      if (pass != Pass::forward) inverse_block(s, raw, kLanes, raw, kLanes, re, im, generic);
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
                     T* im[2], T* generic) const {
    const std::int64_t n = dom_.n[s];
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
    const int done = fft_[s].forward(re, im, generic);
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
                     T* im[2], T* generic) const {
    const std::int64_t n = dom_.n[s];
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
    const int done = fft_[s].forward(re, im, generic);
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

  const Domain& dom_;
  int threads_ = 1;
  std::vector<LaneFft<T, kHalf>> fft_;                // per axis
  std::array<std::vector<T>, 3> twiddle_re_, twiddle_im_;  // e^{-i pi k / 2n} per axis
  std::vector<std::vector<T>> scratch_;
  std::array<std::vector<double>, 3> eigenvalues_;  // of K K^T along each axis (setup)
  double volume_ = 1;
};

}  // namespace omtcore::detail

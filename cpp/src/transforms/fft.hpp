// The FFTs behind every backend's Poisson solve, for every length.
//
// A length whose prime factors are all small runs as a self-sorting
// mixed-radix Stockham FFT (radix 4, 2 and generic odd radices on the CPU;
// 8, 4, 2 and odd ones on a device). A generic radix R costs O(R) per point,
// so a length with a prime factor above kLargestDirectRadix runs instead by
// Bluestein's chirp-z transform (Bluestein 1970; Rabiner, Schafer and Rader
// 1969): with w_k = e^{-i pi k^2 / n}, since jk = (k^2 + j^2 - (k - j)^2) / 2,
//   X_k = sum_j x_j e^{-2 pi i jk / n} = w_k sum_j (x_j w_j) conj(w_{k-j}),
// a cyclic convolution of any length M >= 2n - 1, done by two FFTs of a
// smooth M (factors 2, 3, 5) and a product with the transform of conj(w)
// (computed once per length, in double). Its cost is O(n log n) for every n.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <memory>
#include <vector>

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

// The largest prime factor a length may have and still be transformed by
// mixed-radix stages; above it, the chirp-z transform is cheaper
// (benchmarks/RESULTS.md, "2026-12-02 · 2-core CPU · transforms of every length";
// benchmarks/poisson_lengths.cpp redefines it to measure the alternatives).
#ifndef OMTCORE_LARGEST_DIRECT_RADIX
#define OMTCORE_LARGEST_DIRECT_RADIX 31
#endif
constexpr std::int64_t kLargestDirectRadix = OMTCORE_LARGEST_DIRECT_RADIX;

inline std::int64_t largest_prime_factor(std::int64_t n) {
  std::int64_t largest = 1;
  for (std::int64_t p = 2; p * p <= n; ++p)
    while (n % p == 0) {
      largest = p;
      n /= p;
    }
  return n > 1 ? n : largest;
}

inline bool uses_chirp_z(std::int64_t n) { return largest_prime_factor(n) > kLargestDirectRadix; }

// The smallest 2^a 3^b 5^c >= m: the chirp-z transform's convolution length
// for a length n is chirp_z_length(n) = smooth_length_at_least(2n - 1).
inline std::int64_t smooth_length_at_least(std::int64_t m) {
  std::int64_t best = 1;
  while (best < m) best *= 2;
  for (std::int64_t p5 = 1; p5 < best; p5 *= 5)
    for (std::int64_t p35 = p5; p35 < best; p35 *= 3) {
      std::int64_t v = p35;
      while (v < m) v *= 2;
      best = std::min(best, v);
    }
  return best;
}
inline std::int64_t chirp_z_length(std::int64_t n) { return smooth_length_at_least(2 * n - 1); }

// The length the preconditioner's Poisson solve runs on along an axis of n
// cells (core/backend.hpp, PoissonGrid): n where its FFT is cheap (prime
// factors 2, 3, 5) or the axis short, else the next 2-3-5-smooth length (at
// most 11% more cells per axis from 64 cells on, 7% from 1,000): a smooth
// transform costs a third of the chirp-z transform and about 60% of a generic
// radix, and the extended solve keeps the preconditioner nearly as good
// (benchmarks/RESULTS.md, "2026-12-02 · 2-core CPU · Poisson solve on an extended rectangle").
constexpr std::int64_t kExtendFrom = 64;
inline std::int64_t poisson_length(std::int64_t n) {
  return n < kExtendFrom || largest_prime_factor(n) <= 5 ? n : smooth_length_at_least(n);
}

// The chirp w_k = e^{-i pi k^2 / n}, its angle reduced exactly (k^2 mod 2n)
// so that it stays accurate for long rows.
inline std::complex<double> chirp(std::int64_t k, std::int64_t n) {
  const double pi = 3.14159265358979323846;
  const double angle = -pi * double((k * k) % (2 * n)) / double(n);
  return {std::cos(angle), std::sin(angle)};
}

std::vector<std::complex<double>> chirp_z_kernel(std::int64_t n, std::int64_t m);

// A complex FFT of length n applied to kHalf lanes at once, split complex
// (re and im arrays, element e of lane l at e * kHalf + l).
template <class T, int kHalf>
class LaneFft {
 public:
  explicit LaneFft(std::int64_t n) : n_(n) {
    if (uses_chirp_z(n)) {
      chirp_ = std::make_unique<ChirpZ>(n);
      return;
    }
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
      if (radix > 5) max_generic_ = std::max(max_generic_, radix);
    };
    for (int radix : {4, 2})
      while (rest % radix == 0) add_stage(radix);
    for (int radix = 3; rest > 1; radix += 2)
      while (rest % radix == 0) add_stage(radix);
  }

  std::int64_t length() const { return n_; }

  // Scratch (values of T) a call needs beside its two buffers: the generic
  // radix's, or the chirp-z transform's two buffers of the convolution length.
  std::int64_t scratch() const {
    if (chirp_) return 4 * chirp_->fft.length() * kHalf + chirp_->fft.scratch();
    return 2 * std::int64_t(max_generic_) * kHalf;
  }

  // Transforms (re[0], im[0]) using (re[1], im[1]) as the other buffer of the
  // ping-pong; returns the index of the buffer holding the result.
  int forward(T* re[2], T* im[2], T* scratch) const {
    if (chirp_) return chirp_z(re[0], im[0], scratch);
    T* generic = scratch;
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
      } else if (R == 3 || R == 5) {
        radix_3_or_5(R, wr, wi, xr, xi, yr, yi, j, m, out, span);
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

  // Radix 3 and 5 written out (a third of the generic radix's arithmetic):
  // with a_q the twiddled inputs and w = e^{-2 pi i / R},
  //   R = 3: y0 = a0 + (a1 + a2), y1,2 = a0 - (a1 + a2) / 2 -+ i sin(2pi/3) (a1 - a2);
  //   R = 5: b1,2 = a1 + a4, a2 + a3, d1,2 = a1 - a4, a2 - a3,
  //          y1,4 = a0 + c1 b1 + c2 b2 -+ i (s1 d1 + s2 d2),
  //          y2,3 = a0 + c2 b1 + c1 b2 -+ i (s2 d1 - s1 d2),
  //          c_t = cos(2 pi t / 5), s_t = sin(2 pi t / 5).
  // wr, wi: this j's twiddles.
  OMT_WIDE_SIMD void radix_3_or_5(int R, const T* wr, const T* wi, const T* __restrict xr, const T* __restrict xi,
                                  T* __restrict yr, T* __restrict yi, std::int64_t j, std::int64_t m,
                                  std::int64_t out, std::int64_t span) const {
    const T* inr[5];
    const T* ini[5];
    T* outr[5];
    T* outi[5];
    for (int q = 0; q < R; ++q) {
      inr[q] = xr + (j + q * m) * kHalf;
      ini[q] = xi + (j + q * m) * kHalf;
      outr[q] = yr + (out + q * span) * kHalf;
      outi[q] = yi + (out + q * span) * kHalf;
    }
    if (R == 3) {
      const T s = static_cast<T>(0.86602540378443864676);
      const T w1r = wr[1], w1i = wi[1], w2r = wr[2], w2i = wi[2];
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        const T a0r = inr[0][l], a0i = ini[0][l];
        const T a1r = inr[1][l] * w1r - ini[1][l] * w1i, a1i = inr[1][l] * w1i + ini[1][l] * w1r;
        const T a2r = inr[2][l] * w2r - ini[2][l] * w2i, a2i = inr[2][l] * w2i + ini[2][l] * w2r;
        const T tr = a1r + a2r, ti = a1i + a2i;
        const T hr = a0r - T(0.5) * tr, hi = a0i - T(0.5) * ti;
        const T dr = s * (a1r - a2r), di = s * (a1i - a2i);
        outr[0][l] = a0r + tr;
        outi[0][l] = a0i + ti;
        outr[1][l] = hr + di;
        outi[1][l] = hi - dr;
        outr[2][l] = hr - di;
        outi[2][l] = hi + dr;
      }
      return;
    }
    const T c1 = static_cast<T>(0.30901699437494742410), c2 = static_cast<T>(-0.80901699437494742410);
    const T s1 = static_cast<T>(0.95105651629515357212), s2 = static_cast<T>(0.58778525229247312917);
    const T w1r = wr[1], w1i = wi[1], w2r = wr[2], w2i = wi[2], w3r = wr[3], w3i = wi[3], w4r = wr[4], w4i = wi[4];
#pragma omp simd
    for (int l = 0; l < kHalf; ++l) {
      const T a0r = inr[0][l], a0i = ini[0][l];
      const T a1r = inr[1][l] * w1r - ini[1][l] * w1i, a1i = inr[1][l] * w1i + ini[1][l] * w1r;
      const T a2r = inr[2][l] * w2r - ini[2][l] * w2i, a2i = inr[2][l] * w2i + ini[2][l] * w2r;
      const T a3r = inr[3][l] * w3r - ini[3][l] * w3i, a3i = inr[3][l] * w3i + ini[3][l] * w3r;
      const T a4r = inr[4][l] * w4r - ini[4][l] * w4i, a4i = inr[4][l] * w4i + ini[4][l] * w4r;
      const T b1r = a1r + a4r, b1i = a1i + a4i, b2r = a2r + a3r, b2i = a2i + a3i;
      const T d1r = a1r - a4r, d1i = a1i - a4i, d2r = a2r - a3r, d2i = a2i - a3i;
      const T p1r = a0r + c1 * b1r + c2 * b2r, p1i = a0i + c1 * b1i + c2 * b2i;
      const T p2r = a0r + c2 * b1r + c1 * b2r, p2i = a0i + c2 * b1i + c1 * b2i;
      const T q1r = s1 * d1r + s2 * d2r, q1i = s1 * d1i + s2 * d2i;  // times -i below
      const T q2r = s2 * d1r - s1 * d2r, q2i = s2 * d1i - s1 * d2i;
      outr[0][l] = a0r + b1r + b2r;
      outi[0][l] = a0i + b1i + b2i;
      outr[1][l] = p1r + q1i;
      outi[1][l] = p1i - q1r;
      outr[4][l] = p1r - q1i;
      outi[4][l] = p1i + q1r;
      outr[2][l] = p2r + q2i;
      outi[2][l] = p2i - q2r;
      outr[3][l] = p2r - q2i;
      outi[3][l] = p2i + q2r;
    }
  }

  // Bluestein's transform (see the top of this file): the chirp, and the
  // convolution kernel's transform scaled by 1/M (the inverse FFT's factor).
  struct ChirpZ {
    explicit ChirpZ(std::int64_t n) : fft(chirp_z_length(n)) {
      const std::int64_t m = fft.length();
      for (std::int64_t k = 0; k < n; ++k) {
        const std::complex<double> w = chirp(k, n);
        w_re.push_back(static_cast<T>(w.real()));
        w_im.push_back(static_cast<T>(w.imag()));
      }
      const std::vector<std::complex<double>> kernel = chirp_z_kernel(n, m);
      for (const auto& b : kernel) {
        b_re.push_back(static_cast<T>(b.real()));
        b_im.push_back(static_cast<T>(b.imag()));
      }
    }
    LaneFft fft;  // of the convolution length M
    std::vector<T> w_re, w_im, b_re, b_im;
  };

  // The length-n transform of (re, im) in place: a = x w, A = FFT(a), the
  // inverse FFT of A B as conj(FFT(conj(A B))), X_k = w_k conj(that)_k.
  int chirp_z(T* re, T* im, T* scratch) const {
    const ChirpZ& z = *chirp_;
    const std::int64_t m = z.fft.length();
    T* br[2] = {scratch, scratch + 2 * m * kHalf};
    T* bi[2] = {scratch + m * kHalf, scratch + 3 * m * kHalf};
    T* inner = scratch + 4 * m * kHalf;
    for (std::int64_t j = 0; j < n_; ++j) {
      const T wr = z.w_re[j], wi = z.w_im[j];
      const T* xr = re + j * kHalf;
      const T* xi = im + j * kHalf;
      T* ar = br[0] + j * kHalf;
      T* ai = bi[0] + j * kHalf;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        ar[l] = xr[l] * wr - xi[l] * wi;
        ai[l] = xr[l] * wi + xi[l] * wr;
      }
    }
    std::fill(br[0] + n_ * kHalf, br[0] + m * kHalf, T(0));
    std::fill(bi[0] + n_ * kHalf, bi[0] + m * kHalf, T(0));
    const int d = z.fft.forward(br, bi, inner);
    for (std::int64_t j = 0; j < m; ++j) {
      const T kr = z.b_re[j], ki = z.b_im[j];
      T* ar = br[d] + j * kHalf;
      T* ai = bi[d] + j * kHalf;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {
        const T pr = ar[l] * kr - ai[l] * ki, pi = ar[l] * ki + ai[l] * kr;
        ar[l] = pr;
        ai[l] = -pi;
      }
    }
    T* cr[2] = {br[d], br[d ^ 1]};
    T* ci[2] = {bi[d], bi[d ^ 1]};
    const int e = z.fft.forward(cr, ci, inner);
    for (std::int64_t k = 0; k < n_; ++k) {
      const T wr = z.w_re[k], wi = z.w_im[k];
      const T* sr = cr[e] + k * kHalf;
      const T* si = ci[e] + k * kHalf;
      T* xr = re + k * kHalf;
      T* xi = im + k * kHalf;
#pragma omp simd
      for (int l = 0; l < kHalf; ++l) {  // w_k conj(s)
        xr[l] = wr * sr[l] + wi * si[l];
        xi[l] = wi * sr[l] - wr * si[l];
      }
    }
    return 0;
  }

  std::int64_t n_;
  std::vector<Stage> stages_;
  int max_generic_ = 0;
  std::unique_ptr<ChirpZ> chirp_;
};

// FFT_M(c) / M of c_l = conj(w_l) for |l| < n (c_{M-l} = c_l), zero elsewhere:
// the chirp-z transform's convolution kernel, in double.
inline std::vector<std::complex<double>> chirp_z_kernel(std::int64_t n, std::int64_t m) {
  LaneFft<double, 1> fft(m);  // smooth m: mixed-radix stages
  std::vector<double> buf(4 * m + fft.scratch(), 0.0);
  double* re[2] = {buf.data(), buf.data() + 2 * m};
  double* im[2] = {buf.data() + m, buf.data() + 3 * m};
  for (std::int64_t l = 0; l < n; ++l) {
    const std::complex<double> c = std::conj(chirp(l, n));
    re[0][l] = c.real();
    im[0][l] = c.imag();
    if (l > 0) {
      re[0][m - l] = c.real();
      im[0][m - l] = c.imag();
    }
  }
  const int d = fft.forward(re, im, buf.data() + 4 * m);
  std::vector<std::complex<double>> out(m);
  for (std::int64_t j = 0; j < m; ++j) out[j] = {re[d][j] / double(m), im[d][j] / double(m)};
  return out;
}

}  // namespace omtcore::detail


// The per-cell Hermitian eigensolver (kernels/hermitian_eig.h) in float and
// double, included the way the CPU backend includes cell_math.h: residual
// ||A V - V diag(w)|| and unitarity of V on random complex Hermitian matrices
// for every k, known spectra (repeated, zero, rank one, diagonal, real
// symmetric, badly scaled), the nuclear-norm prox against
// U diag(soft(lambda, t)) U^* and the norms against sum / max |lambda|.
// Reference arithmetic is long double, so it does not blur the double checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#define OMT_FN static inline
#define OMT_GLOBAL
namespace herm_f32 {
using std::fabs;
using std::sqrt;
typedef float real_t;
#include "kernels/hermitian_eig.h"
}  // namespace herm_f32
namespace herm_f64 {
using std::fabs;
using std::sqrt;
typedef double real_t;
#include "kernels/hermitian_eig.h"
}  // namespace herm_f64
// Again with the sweep cap at 12 (30 in use): the clustered spectra below
// must still converge, which fails if the convergence degrades to linear
// (rotations on noise-level pivots inside a cluster took 25 sweeps once).
#undef OMT_HERM_SWEEPS
#define OMT_HERM_SWEEPS 12
namespace herm_f32_capped {
using std::fabs;
using std::sqrt;
typedef float real_t;
#include "kernels/hermitian_eig.h"
}  // namespace herm_f32_capped
namespace herm_f64_capped {
using std::fabs;
using std::sqrt;
typedef double real_t;
#include "kernels/hermitian_eig.h"
}  // namespace herm_f64_capped
#undef OMT_HERM_SWEEPS
#undef OMT_FN
#undef OMT_GLOBAL

namespace {

using cd = std::complex<double>;
using cl = std::complex<long double>;

template <class R>
struct Api;
template <class R>
struct Capped;
template <>
struct Capped<float> {
  static void eig(int k, float* re, float* im, float* w, float* vre, float* vim) {
    herm_f32_capped::omt_herm_eig(k, re, im, w, vre, vim);
  }
};
template <>
struct Capped<double> {
  static void eig(int k, double* re, double* im, double* w, double* vre, double* vim) {
    herm_f64_capped::omt_herm_eig(k, re, im, w, vre, vim);
  }
};
template <>
struct Api<float> {
  static void eig(int k, float* re, float* im, float* w, float* vre, float* vim) {
    herm_f32::omt_herm_eig(k, re, im, w, vre, vim);
  }
  static void prox(int k, float* re, float* im, float t) { herm_f32::omt_herm_nuclear_prox(k, re, im, t); }
  static float nuc(int k, const float* re, const float* im) { return herm_f32::omt_herm_nuclear_norm(k, re, im); }
  static float op(int k, const float* re, const float* im) { return herm_f32::omt_herm_op_norm(k, re, im); }
};
template <>
struct Api<double> {
  static void eig(int k, double* re, double* im, double* w, double* vre, double* vim) {
    herm_f64::omt_herm_eig(k, re, im, w, vre, vim);
  }
  static void prox(int k, double* re, double* im, double t) { herm_f64::omt_herm_nuclear_prox(k, re, im, t); }
  static double nuc(int k, const double* re, const double* im) { return herm_f64::omt_herm_nuclear_norm(k, re, im); }
  static double op(int k, const double* re, const double* im) { return herm_f64::omt_herm_op_norm(k, re, im); }
};

template <class R>
long double eps() {
  return std::numeric_limits<R>::epsilon();
}

// A k x k complex matrix, row-major.
using Mat = std::vector<cd>;

cd normal_c(std::mt19937_64& rng) {
  std::normal_distribution<double> n;
  return {n(rng), n(rng)};
}

Mat random_hermitian(int k, std::mt19937_64& rng, bool real) {
  Mat a(k * k);
  for (int r = 0; r < k; ++r)
    for (int c = r; c < k; ++c) {
      cd z = normal_c(rng);
      if (real || r == c) z = z.real();
      a[r * k + c] = z;
      a[c * k + r] = std::conj(z);
    }
  return a;
}

// Random unitary (or real orthogonal): Gram-Schmidt twice on Gaussian columns.
Mat random_unitary(int k, std::mt19937_64& rng, bool real) {
  Mat u(k * k);
  for (auto& z : u) z = real ? cd(normal_c(rng).real(), 0) : normal_c(rng);
  for (int j = 0; j < k; ++j)
    for (int pass = 0; pass < 2; ++pass) {
      for (int i = 0; i < j; ++i) {
        cd dot = 0;
        for (int r = 0; r < k; ++r) dot += std::conj(u[r * k + i]) * u[r * k + j];
        for (int r = 0; r < k; ++r) u[r * k + j] -= dot * u[r * k + i];
      }
      double nrm = 0;
      for (int r = 0; r < k; ++r) nrm += std::norm(u[r * k + j]);
      for (int r = 0; r < k; ++r) u[r * k + j] /= std::sqrt(nrm);
    }
  return u;
}

// U diag(lam) U^*, exactly Hermitian.
Mat spectral(int k, const Mat& u, const std::vector<double>& lam) {
  Mat a(k * k);
  for (int r = 0; r < k; ++r)
    for (int c = r; c < k; ++c) {
      cl s = 0;
      for (int j = 0; j < k; ++j) s += (long double)lam[j] * cl(u[r * k + j]) * std::conj(cl(u[c * k + j]));
      cd z(s);
      if (r == c) z = z.real();
      a[r * k + c] = z;
      a[c * k + r] = std::conj(z);
    }
  return a;
}

template <class R>
void split(const Mat& a, std::vector<R>& re, std::vector<R>& im) {
  re.resize(a.size());
  im.resize(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    re[i] = (R)a[i].real();
    im[i] = (R)a[i].imag();
  }
}

long double frob(const std::vector<cl>& a) {
  long double s = 0;
  for (auto& z : a) s += std::norm(z);
  return std::sqrt(s);
}

struct Result {
  long double res = 0;   // ||A V - V diag(w)||_F / (k eps ||A||_F)
  long double unit = 0;  // ||V^* V - I||_F / (k eps)
  std::vector<long double> w;
};

// Decomposes a (rounded to R: the matrix the solver sees is the reference) and
// checks residual, unitarity, order and that the solver's outputs are finite.
template <class R, class Solver = Api<R>>
Result decompose(int k, const Mat& a) {
  std::vector<R> re, im;
  split(a, re, im);
  std::vector<cl> A(k * k);
  for (int i = 0; i < k * k; ++i) A[i] = cl(re[i], im[i]);
  std::vector<R> w(k), vre(k * k), vim(k * k);
  Solver::eig(k, re.data(), im.data(), w.data(), vre.data(), vim.data());
  Result out;
  for (int j = 0; j < k; ++j) out.w.push_back(w[j]);
  CHECK(std::is_sorted(w.begin(), w.end()));
  std::vector<cl> V(k * k), E(k * k), G(k * k);
  for (int i = 0; i < k * k; ++i) V[i] = cl(vre[i], vim[i]);
  for (int r = 0; r < k; ++r)
    for (int c = 0; c < k; ++c) {
      cl av = 0, g = 0;
      for (int j = 0; j < k; ++j) {
        av += A[r * k + j] * V[j * k + c];
        g += std::conj(V[j * k + r]) * V[j * k + c];
      }
      E[r * k + c] = av - V[r * k + c] * (long double)w[c];
      G[r * k + c] = g - (long double)(r == c);
    }
  const long double na = frob(A), res = frob(E), unit = frob(G);
  // a zero matrix must give an exact answer; NaN fails every comparison below
  out.res = na > 0 ? res / (k * eps<R>() * na) : (res == 0 ? 0 : INFINITY);
  out.unit = unit / (k * eps<R>());
  CHECK(out.res <= 50);
  CHECK(out.unit <= 50);
  return out;
}

// Eigenvalues against a known spectrum, relative to max |lambda|.
template <class R>
void check_spectrum(const Result& got, std::vector<double> lam, long double tol_units = 50) {
  const int k = (int)lam.size();
  std::sort(lam.begin(), lam.end());
  long double scale = 0;
  for (double l : lam) scale = std::max(scale, (long double)std::fabs(l));
  for (int j = 0; j < k; ++j) {
    INFO("j = " << j << " got " << (double)got.w[j] << " want " << lam[j]);
    CHECK(std::fabs(got.w[j] - lam[j]) <= tol_units * k * eps<R>() * scale);
  }
}

template <class R>
void random_residuals(const std::string& name) {
  std::mt19937_64 rng(12345);
  long double worst_res = 0, worst_unit = 0;
  for (int k = 1; k <= 8; ++k)
    for (int trial = 0; trial < 300; ++trial) {
      CAPTURE(k);
      CAPTURE(trial);
      const Mat a = random_hermitian(k, rng, trial % 3 == 0);
      const Result r = decompose<R>(k, a);
      worst_res = std::max(worst_res, r.res);
      worst_unit = std::max(worst_unit, r.unit);
    }
  MESSAGE(name << ": worst ||AV - VW||_F / (k eps ||A||_F) = " << (double)worst_res
                << ", worst ||V^*V - I||_F / (k eps) = " << (double)worst_unit);
}

// Spectra with repeated, zero, clustered and mixed-sign eigenvalues.
std::vector<std::vector<double>> degenerate_spectra(int k, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<std::vector<double>> out;
  out.push_back(std::vector<double>(k, 3.0));                     // multiple of I
  out.push_back(std::vector<double>(k, 0.0));                     // zero (built through U)
  std::vector<double> v(k, 0.0);
  v[k - 1] = 1;
  out.push_back(v);                                               // rank one
  for (int j = 0; j < k; ++j) v[j] = j < k / 2 ? -1.0 : 2.0;
  out.push_back(v);                                               // two clusters
  for (int j = 0; j < k; ++j) v[j] = 1.0 + (j % 2) * 1e-10;
  out.push_back(v);                                               // nearly repeated
  for (int j = 0; j < k; ++j) v[j] = (j % 3 == 0) ? 0.0 : u(rng);
  out.push_back(v);                                               // some zeros, random rest
  for (int j = 0; j < k; ++j) v[j] = j % 2 ? 1.0 : -1.0;
  out.push_back(v);                                               // +-1: |w| all equal
  return out;
}

template <class R>
void known_spectra() {
  std::mt19937_64 rng(777);
  for (int k = 1; k <= 8; ++k)
    for (bool real : {false, true})
      for (const auto& lam : degenerate_spectra(k, rng)) {
        CAPTURE(k);
        CAPTURE(real);
        const Mat u = random_unitary(k, rng, real);
        const Mat a = spectral(k, u, lam);
        check_spectrum<R>(decompose<R>(k, a), lam);
      }
}

template <class R>
void special_matrices() {
  std::mt19937_64 rng(99);
  for (int k = 1; k <= 8; ++k) {
    CAPTURE(k);
    // Zero matrix: exact zeros, V = I exactly.
    {
      std::vector<R> re(k * k, 0), im(k * k, 0), w(k, 1), vre(k * k), vim(k * k);
      Api<R>::eig(k, re.data(), im.data(), w.data(), vre.data(), vim.data());
      for (int j = 0; j < k; ++j) CHECK(w[j] == 0);
      for (int i = 0; i < k * k; ++i) {
        CHECK(vre[i] == (i % (k + 1) == 0 ? 1 : 0));
        CHECK(vim[i] == 0);
      }
    }
    // Diagonal (with a repeat and negatives): eigenvalues exact, V a permutation.
    {
      std::vector<double> d(k);
      for (int j = 0; j < k; ++j) d[j] = std::round(std::uniform_real_distribution<double>(-5, 5)(rng));
      Mat a(k * k, 0.0);
      for (int j = 0; j < k; ++j) a[j * k + j] = d[j];
      std::vector<R> re, im, w(k), vre(k * k), vim(k * k);
      split(a, re, im);
      Api<R>::eig(k, re.data(), im.data(), w.data(), vre.data(), vim.data());
      std::sort(d.begin(), d.end());
      for (int j = 0; j < k; ++j) CHECK(w[j] == (R)d[j]);
      for (int c = 0; c < k; ++c) {
        int ones = 0;
        for (int r = 0; r < k; ++r) {
          ones += vre[r * k + c] == 1;
          CHECK((vre[r * k + c] == 0 || vre[r * k + c] == 1));
          CHECK(vim[r * k + c] == 0);
        }
        CHECK(ones == 1);
      }
    }
    // Rank one x x^*: eigenvalues 0 (k-1 times) and |x|^2.
    {
      std::vector<cd> x(k);
      double n2 = 0;
      for (auto& z : x) {
        z = normal_c(rng);
        n2 += std::norm(z);
      }
      Mat a(k * k);
      for (int r = 0; r < k; ++r)
        for (int c = 0; c < k; ++c) a[r * k + c] = r == c ? cd(std::norm(x[r])) : x[r] * std::conj(x[c]);
      std::vector<double> lam(k, 0.0);
      lam[k - 1] = n2;
      check_spectrum<R>(decompose<R>(k, a), lam);
    }
    // Real symmetric input: V comes out real (no complex phases introduced).
    {
      const Mat a = random_hermitian(k, rng, true);
      std::vector<R> re, im, w(k), vre(k * k), vim(k * k);
      split(a, re, im);
      Api<R>::eig(k, re.data(), im.data(), w.data(), vre.data(), vim.data());
      for (int i = 0; i < k * k; ++i) CHECK(vim[i] == 0);
      decompose<R>(k, a);
    }
  }
  // k = 1 is the entry itself.
  {
    R re = (R)-2.5, im = (R)0.75, w = 0, vre = 0, vim = 0;  // imaginary diagonal ignored
    Api<R>::eig(1, &re, &im, &w, &vre, &vim);
    CHECK(w == (R)-2.5);
    CHECK(vre == 1);
    CHECK(vim == 0);
  }
  // A 2x2 with an off-diagonal entry far below the diagonal (1e-30 relative):
  // no division by a vanishing pivot, no inf/NaN.
  {
    Mat a = {cd(1, 0), cd(1e-30, -1e-31), cd(1e-30, 1e-31), cd(2, 0)};
    check_spectrum<R>(decompose<R>(2, a), {1.0, 2.0});
    Mat b = {cd(1, 0), cd(0, 1e-38), cd(0, -1e-38), cd(1, 0)};
    check_spectrum<R>(decompose<R>(2, b), {1.0, 1.0});
  }
}

template <class R>
void badly_scaled(std::vector<double> scales) {
  std::mt19937_64 rng(4242);
  for (int k = 1; k <= 8; ++k)
    for (double s : scales) {
      CAPTURE(k);
      CAPTURE(s);
      std::vector<double> lam(k);
      for (int j = 0; j < k; ++j) lam[j] = s * std::uniform_real_distribution<double>(-1, 1)(rng);
      if (k > 2) lam[1] = lam[0];  // a repeat too
      const Mat u = random_unitary(k, rng, false);
      check_spectrum<R>(decompose<R>(k, spectral(k, u, lam)), lam);
      // graded: entries spanning s^-1 .. s on one matrix
      Mat g = random_hermitian(k, rng, false);
      for (int r = 0; r < k; ++r)
        for (int c = 0; c < k; ++c) {
          const double dr = std::pow(s, k > 1 ? 0.5 - (double)r / (k - 1) : 0.5);
          const double dc = std::pow(s, k > 1 ? 0.5 - (double)c / (k - 1) : 0.5);
          g[r * k + c] *= dr * dc;
        }
      decompose<R>(k, g);
    }
}

// Random clustered spectra (1 to 4 distinct values, some split by 1e-9,
// some scaled by 10^-20..10^20) under the 12-sweep cap.
template <class R>
void clustered_capped() {
  std::mt19937_64 rng(8);
  std::normal_distribution<double> n;
  for (int it = 0; it < 4000; ++it) {
    const int k = 1 + it % 8;
    CAPTURE(k);
    CAPTURE(it);
    std::vector<double> vals(1 + (it / 8) % 4);
    for (auto& v : vals) v = (it / 32) % 2 ? std::round(2 * n(rng)) : n(rng);
    const double scale = (it / 64) % 3 == 0 ? std::pow(10.0, (double)((int)(rng() % 41) - 20)) : 1.0;
    std::vector<double> lam(k);
    for (auto& l : lam) l = scale * (vals[rng() % vals.size()] + ((it / 192) % 2 ? 1e-9 * n(rng) : 0.0));
    const Mat u = random_unitary(k, rng, (it / 384) % 4 == 0);
    check_spectrum<R>(decompose<R, Capped<R>>(k, spectral(k, u, lam)), lam);
  }
}

double soft(double x, double t) { return x > t ? x - t : (x < -t ? x + t : 0.0); }

template <class R>
void prox_against_formula() {
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<double> uni(-2, 2);
  long double worst = 0;
  for (int k = 1; k <= 8; ++k)
    for (int trial = 0; trial < 60; ++trial) {
      CAPTURE(k);
      CAPTURE(trial);
      std::vector<double> lam(k);
      for (int j = 0; j < k; ++j) lam[j] = uni(rng);
      if (trial % 4 == 1 && k > 1) lam[k - 1] = lam[0];  // repeated
      if (trial % 4 == 2) lam[0] = 0;                    // a zero
      const double t = std::fabs(uni(rng));
      const Mat u = random_unitary(k, rng, trial % 5 == 0);
      const Mat a = spectral(k, u, lam);
      std::vector<double> st(k);
      for (int j = 0; j < k; ++j) st[j] = soft(lam[j], t);
      const Mat x = spectral(k, u, st);
      std::vector<R> re, im;
      split(a, re, im);
      Api<R>::prox(k, re.data(), im.data(), (R)t);
      long double err = 0, scale = 0;
      for (double l : lam) scale = std::max(scale, (long double)std::fabs(l));
      for (int r = 0; r < k; ++r)
        for (int c = 0; c < k; ++c) {
          err = std::max(err, (long double)std::abs(cl(re[r * k + c], im[r * k + c]) - cl(x[r * k + c])));
          // exactly Hermitian
          CHECK(re[r * k + c] == re[c * k + r]);
          CHECK(im[r * k + c] == -im[c * k + r]);
        }
      for (int r = 0; r < k; ++r) CHECK(im[r * k + r] == 0);
      // all lambda zero: the answer must be exactly zero
      err = scale > 0 ? err / (k * eps<R>() * scale) : (err == 0 ? 0 : INFINITY);
      worst = std::max(worst, err);
      CHECK(err <= 50);
    }
  MESSAGE("worst |prox - U soft(L) U^*|_max / (k eps max|lambda|) = " << (double)worst);
}

template <class R>
void prox_limits() {
  std::mt19937_64 rng(5);
  for (int k = 1; k <= 8; ++k) {
    CAPTURE(k);
    const Mat a = random_hermitian(k, rng, false);
    std::vector<R> re, im, re0, im0;
    split(a, re0, im0);
    // t = 0: the identity (up to the decomposition's rounding)
    re = re0;
    im = im0;
    Api<R>::prox(k, re.data(), im.data(), (R)0);
    long double na = 0, err = 0;
    for (int i = 0; i < k * k; ++i) {
      na += (long double)re0[i] * re0[i] + (long double)im0[i] * im0[i];
      err += std::norm(cl(re[i], im[i]) - cl(re0[i], im0[i]));
    }
    CHECK(std::sqrt(err) <= 50 * k * eps<R>() * std::sqrt(na));
    // t above ||A||_F >= every |eigenvalue|: exactly zero
    re = re0;
    im = im0;
    Api<R>::prox(k, re.data(), im.data(), (R)(1.01 * std::sqrt((double)na)));
    for (int i = 0; i < k * k; ++i) {
      CHECK(re[i] == 0);
      CHECK(im[i] == 0);
    }
  }
  // diagonal: soft threshold of the diagonal, exactly
  R re[4] = {(R)3, 0, 0, (R)-0.5}, im[4] = {0, 0, 0, 0};
  Api<R>::prox(2, re, im, (R)1);
  CHECK(re[0] == 2);
  CHECK(re[3] == 0);
  CHECK(re[1] == 0);
  CHECK(re[2] == 0);
  // k = 1
  R a = (R)-4, b = 0;
  Api<R>::prox(1, &a, &b, (R)1.5);
  CHECK(a == (R)-2.5);
}

template <class R>
void norms() {
  std::mt19937_64 rng(31);
  std::uniform_real_distribution<double> uni(-3, 3);
  for (int k = 1; k <= 8; ++k)
    for (int trial = 0; trial < 20; ++trial) {
      CAPTURE(k);
      CAPTURE(trial);
      std::vector<double> lam(k);
      for (int j = 0; j < k; ++j) lam[j] = uni(rng);
      if (trial % 2) lam[0] = -10;  // the largest |lambda| negative
      const Mat a = spectral(k, random_unitary(k, rng, false), lam);
      std::vector<R> re, im;
      split(a, re, im);
      const std::vector<R> re0 = re, im0 = im;
      long double nuc = 0, op = 0;
      for (double l : lam) {
        nuc += std::fabs(l);
        op = std::max(op, (long double)std::fabs(l));
      }
      const R got_nuc = Api<R>::nuc(k, re.data(), im.data());
      const R got_op = Api<R>::op(k, re.data(), im.data());
      CHECK(std::fabs(got_nuc - nuc) <= 50 * k * k * eps<R>() * op);
      CHECK(std::fabs(got_op - op) <= 50 * k * eps<R>() * op);
      CHECK(re == re0);  // inputs untouched
      CHECK(im == im0);
    }
  R z[4] = {0, 0, 0, 0};
  CHECK(Api<R>::nuc(2, z, z) == 0);
  CHECK(Api<R>::op(2, z, z) == 0);
  std::vector<R> big((OMT_MAX_K + 1) * (OMT_MAX_K + 1), 0);
  CHECK(Api<R>::nuc(OMT_MAX_K + 1, big.data(), big.data()) == -1);  // k out of range
  CHECK(Api<R>::op(0, big.data(), big.data()) == -1);
}

}  // namespace

TEST_CASE("hermitian eig: residual and unitarity on random Hermitian matrices, k = 1..8") {
  SUBCASE("float") { random_residuals<float>("float"); }
  SUBCASE("double") { random_residuals<double>("double"); }
}

TEST_CASE("hermitian eig: known spectra with repeated, zero and clustered eigenvalues") {
  SUBCASE("float") { known_spectra<float>(); }
  SUBCASE("double") { known_spectra<double>(); }
}

TEST_CASE("hermitian eig: clustered spectra converge within 12 sweeps") {
  SUBCASE("float") { clustered_capped<float>(); }
  SUBCASE("double") { clustered_capped<double>(); }
}

TEST_CASE("hermitian eig: zero, diagonal, rank-one, real symmetric, k = 1, tiny pivots") {
  SUBCASE("float") { special_matrices<float>(); }
  SUBCASE("double") { special_matrices<double>(); }
}

TEST_CASE("hermitian eig: badly scaled and graded inputs") {
  SUBCASE("float") { badly_scaled<float>({1e-30, 1e-15, 1e15, 1e30}); }
  SUBCASE("double") { badly_scaled<double>({1e-300, 1e-30, 1e30, 1e300}); }
}

TEST_CASE("hermitian nuclear prox: against U diag(soft(lambda, t)) U^*, exactly Hermitian") {
  SUBCASE("float") { prox_against_formula<float>(); }
  SUBCASE("double") { prox_against_formula<double>(); }
}

TEST_CASE("hermitian nuclear prox: t = 0, t above the spectrum, diagonal, k = 1") {
  SUBCASE("float") { prox_limits<float>(); }
  SUBCASE("double") { prox_limits<double>(); }
}

TEST_CASE("hermitian norms: nuclear and operator norm, input unchanged") {
  SUBCASE("float") { norms<float>(); }
  SUBCASE("double") { norms<double>(); }
}

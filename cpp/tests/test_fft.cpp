// The FFT behind every Poisson solve (transforms/fft.hpp) against the DFT's
// definition summed in long double, for every length from 1 to 160 and for
// long primes and prime multiples, mixed-radix and chirp-z alike.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "transforms/fft.hpp"

namespace {

using omtcore::detail::LaneFft;

// Max |FFT(x) - DFT(x)| / max |DFT(x)| over kHalf lanes of random inputs.
template <class T, int kHalf>
double fft_error(std::int64_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  LaneFft<T, kHalf> fft(n);
  std::vector<T> buf(4 * n * kHalf + fft.scratch());
  T* re[2] = {buf.data(), buf.data() + 2 * n * kHalf};
  T* im[2] = {buf.data() + n * kHalf, buf.data() + 3 * n * kHalf};
  std::vector<std::complex<long double>> x(n * kHalf);
  for (std::int64_t j = 0; j < n * kHalf; ++j) {
    x[j] = {u(gen), u(gen)};
    re[0][j] = static_cast<T>(x[j].real());
    im[0][j] = static_cast<T>(x[j].imag());
  }
  const int d = fft.forward(re, im, buf.data() + 4 * n * kHalf);
  const long double pi = 3.141592653589793238462643383279L;
  std::vector<std::complex<long double>> root(n);  // e^{-2 pi i t / n}
  for (std::int64_t t = 0; t < n; ++t) root[t] = std::polar(1.0L, -2 * pi * (long double)t / (long double)n);
  double err = 0, norm = 0;
  for (int l = 0; l < kHalf; ++l)
    for (std::int64_t k = 0; k < n; ++k) {
      std::complex<long double> sum = 0;
      for (std::int64_t j = 0; j < n; ++j) {  // the input as rounded to T
        const std::complex<long double> xj((long double)static_cast<T>(x[j * kHalf + l].real()),
                                           (long double)static_cast<T>(x[j * kHalf + l].imag()));
        sum += xj * root[(j * k) % n];
      }
      const std::complex<long double> got(re[d][k * kHalf + l], im[d][k * kHalf + l]);
      err = std::max(err, double(std::abs(got - sum)));
      norm = std::max(norm, double(std::abs(sum)));
    }
  return err / norm;
}

}  // namespace

TEST_CASE("chirp-z lengths and planning rule") {
  using namespace omtcore::detail;
  CHECK(largest_prime_factor(1) == 1);
  CHECK(largest_prime_factor(2 * 2 * 3 * 13) == 13);
  CHECK(largest_prime_factor(509) == 509);
  CHECK(largest_prime_factor(2 * 509) == 509);
  CHECK(!uses_chirp_z(31 * 13 * 64));
  CHECK(uses_chirp_z(37));
  CHECK(smooth_length_at_least(1017) == 1024);
  CHECK(smooth_length_at_least(1001) == 1024);
  CHECK(smooth_length_at_least(961) == 972);
  CHECK(smooth_length_at_least(2041) == 2048);
  for (std::int64_t m = 1; m < 3000; m += 7) {
    const std::int64_t s = smooth_length_at_least(m);
    CHECK(s >= m);
    CHECK(largest_prime_factor(s) <= 5);
  }
  // The Poisson solve's rectangle: smooth or short sides kept, others extended.
  CHECK(poisson_length(509) == 512);
  CHECK(poisson_length(1021) == 1024);
  CHECK(poisson_length(700) == 720);
  CHECK(poisson_length(720) == 720);
  CHECK(poisson_length(61) == 61);
  CHECK(poisson_length(67) == 72);
  for (std::int64_t n = 1; n < 5000; n += 3) {
    const std::int64_t m = poisson_length(n);
    CHECK(m >= n);
    CHECK(double(m) <= 1.11 * double(n));
    CHECK((m == n || largest_prime_factor(m) <= 5));
  }
}

TEST_CASE("FFT of every length matches the DFT") {
  for (std::int64_t n = 1; n <= 160; ++n) {
    CAPTURE(n);
    CHECK(fft_error<double, 4>(n, std::uint32_t(n)) < 1e-13);
    CHECK(fft_error<float, 4>(n, std::uint32_t(n) + 1000) < 3e-6);
  }
}

TEST_CASE("FFT of long primes and prime multiples matches the DFT") {
  for (std::int64_t n : {509, 1021, 2 * 509, 3 * 331, 4093, 8191}) {
    CAPTURE(n);
    CHECK(fft_error<double, 1>(n, 7) < 1e-12);
    CHECK(fft_error<float, 1>(n, 8) < 1e-5);
  }
}

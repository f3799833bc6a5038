// The CPU backend's Poisson solves (the batched fast DCT it uses, and the dense
// DCT kept as a reference) against their definition: y = solve(x) must satisfy L y = x for the
// Neumann grid Laplacian L of the full rectangle, for zero-mean x, on odd,
// even and prime side lengths in 1 to 3 dimensions, with per-axis spacing.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "backends/cpu/batched_dct.hpp"
#include "dense_dct.hpp"  // the reference, beside the tests
#include "core/domain.hpp"

namespace {

using omtcore::detail::Domain;
using omtcore::detail::GridSetup;
using omtcore::detail::PoissonGrid;

struct Case {
  omtcore::Grid grid;
  Domain dom;
  GridSetup setup;
  // The Poisson solve on the grid itself, or (rect) on a rectangle extending it.
  explicit Case(std::vector<std::int64_t> shape, std::vector<double> h, std::vector<std::int64_t> rect = {}) {
    grid.shape = shape;
    grid.spacing = h;
    dom = Domain::build(grid, nullptr);
    setup.domain = &dom;
    std::array<std::int64_t, 3> n = dom.n;
    for (std::size_t s = 0; s < rect.size(); ++s) n[s] = rect[s];
    setup.poisson = PoissonGrid::over(dom.d, n);
    const double pi = 3.14159265358979323846;
    for (int s = 0; s < dom.d; ++s) {
      auto& eig = setup.laplacian_eigenvalues[s];
      for (std::int64_t k = 0; k < n[s]; ++k)
        eig.push_back((2.0 - 2.0 * std::cos(pi * double(k) / double(n[s]))) / (dom.h[s] * dom.h[s]));
    }
  }
  // (L y)(i) = sum over axis neighbours j of (y(i) - y(j)) / h_s^2.
  std::vector<double> laplacian(const std::vector<double>& y) const {
    std::vector<double> out(dom.cells, 0);
    for (std::int64_t i = 0; i < dom.cells; ++i)
      for (int s = 0; s < dom.d; ++s) {
        const std::int64_t c = (i / dom.stride[s]) % dom.n[s];
        const double w = 1.0 / (dom.h[s] * dom.h[s]);
        if (c + 1 < dom.n[s]) out[i] += w * (y[i] - y[i + dom.stride[s]]);
        if (c > 0) out[i] += w * (y[i] - y[i - dom.stride[s]]);
      }
    return out;
  }
};

std::vector<double> centred_random(std::int64_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(n);
  double mean = 0;
  for (auto& v : x) mean += (v = u(gen));
  for (auto& v : x) v -= mean / double(n);
  return x;
}

// float solves against the double dense solve (itself checked against the
// Laplacian): the transforms are orthonormal, so the float error stays near
// rounding, while L y in float would amplify it by the condition number.
template <class Solver>
double float_error(Case& c, std::uint32_t seed) {
  auto x = centred_random(c.dom.cells, seed);
  std::vector<double> ref = x;
  omtcore::detail::DenseDctPoisson<double>(c.setup).solve(ref.data());
  std::vector<float> y(x.begin(), x.end());
  Solver(c.setup).solve(y.data());
  double err = 0, norm = 0;
  for (std::int64_t i = 0; i < c.dom.cells; ++i) {
    err = std::max(err, std::fabs(double(y[i]) - ref[i]));
    norm = std::max(norm, std::fabs(ref[i]));
  }
  return norm > 0 ? err / norm : err;
}

template <class Solver, class T>
double relative_error(Case& c, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(c.dom.cells);
  double mean = 0;
  for (auto& v : x) mean += (v = u(gen));
  mean /= double(c.dom.cells);
  for (auto& v : x) v -= mean;
  std::vector<T> y(x.begin(), x.end());
  Solver solver(c.setup);
  solver.solve(y.data());
  std::vector<double> yd(y.begin(), y.end());
  auto ly = c.laplacian(yd);
  double err = 0, norm = 0;
  for (std::int64_t i = 0; i < c.dom.cells; ++i) {
    err = std::max(err, std::fabs(ly[i] - x[i]));
    norm = std::max(norm, std::fabs(x[i]));
  }
  return norm > 0 ? err / norm : err;  // one cell: x = 0 after centring
}

const std::vector<std::pair<std::vector<std::int64_t>, std::vector<double>>> kShapes = {
    {{1}, {1.0}},         {{2}, {1.0}},           {{17}, {0.5}},          {{64}, {1.0}},
    {{12, 9}, {1.0, 0.5}}, {{31, 7}, {1.0}},       {{1, 5}, {1.0}},        {{40, 33}, {2.0, 1.0}},
    {{5, 6, 7}, {1.0, 0.7, 1.3}}, {{8, 1, 3}, {1.0}}, {{16, 16, 16}, {1.0}},
    {{96, 50}, {1.0, 2.0}}, {{3, 130}, {1.0}}, {{49, 11, 9}, {1.0}}, {{256}, {1.0}},
    // prime factors above kLargestDirectRadix: the chirp-z transform
    {{17, 23}, {1.0, 0.5}}, {{509}, {1.0}}, {{2 * 31, 3 * 37}, {1.0}}, {{19, 4, 29}, {1.0}}, {{1021}, {1.0}}};

}  // namespace

TEST_CASE("dense DCT Poisson solve inverts the Neumann Laplacian") {
  for (auto& [shape, h] : kShapes) {
    Case c(shape, h);
    CHECK(relative_error<omtcore::detail::DenseDctPoisson<double>, double>(c, 1) < 1e-9);
    CHECK(float_error<omtcore::detail::DenseDctPoisson<float>>(c, 2) < 1e-5);
  }
}

TEST_CASE("batched fast DCT Poisson solve inverts the Neumann Laplacian") {
  for (auto& [shape, h] : kShapes) {
    Case c(shape, h);
    CAPTURE(shape.size());
    CAPTURE(shape[0]);
    CHECK(relative_error<omtcore::detail::BatchedDctPoisson<double>, double>(c, 5) < 1e-9);
    CHECK(float_error<omtcore::detail::BatchedDctPoisson<float>>(c, 6) < 1e-5);
  }
}

// On an extended rectangle (PoissonGrid) the solve is P L_N^+ P^T: extend x
// by zeros, solve on the rectangle, keep the grid's cells. The reference does
// exactly that with the dense solve of a grid of the rectangle's shape.
TEST_CASE("batched fast DCT Poisson solve on an extended rectangle") {
  const std::vector<std::tuple<std::vector<std::int64_t>, std::vector<std::int64_t>, std::vector<double>>> cases = {
      {{67}, {72}, {1.0}},
      {{7, 67}, {7, 72}, {1.0, 0.5}},
      {{67, 9}, {72, 9}, {1.0}},
      {{67, 71}, {72, 72}, {0.5, 1.0}},
      {{11, 67, 13}, {11, 72, 15}, {1.0}},
      {{3, 5, 67}, {4, 5, 72}, {1.0, 1.0, 2.0}}};
  for (auto& [shape, rect, h] : cases) {
    CAPTURE(shape[0]);
    CAPTURE(shape.back());
    Case c(shape, h, rect);
    REQUIRE(c.setup.poisson.extends(c.dom));
    Case big(rect, h);
    auto x = centred_random(c.dom.cells, 9);
    std::vector<double> padded(big.dom.cells, 0.0);
    auto big_index = [&](std::int64_t i) {
      std::int64_t j = 0;
      for (int s = 0; s < c.dom.d; ++s) j += ((i / c.dom.stride[s]) % c.dom.n[s]) * big.dom.stride[s];
      return j;
    };
    for (std::int64_t i = 0; i < c.dom.cells; ++i) padded[big_index(i)] = x[i];
    omtcore::detail::DenseDctPoisson<double>(big.setup).solve(padded.data());
    std::vector<double> y = x;
    omtcore::detail::BatchedDctPoisson<double>(c.setup).solve(y.data());
    std::vector<float> yf(x.begin(), x.end());
    omtcore::detail::BatchedDctPoisson<float>(c.setup).solve(yf.data());
    double err = 0, err_f = 0, norm = 0;
    for (std::int64_t i = 0; i < c.dom.cells; ++i) {
      const double ref = padded[big_index(i)];
      err = std::max(err, std::fabs(y[i] - ref));
      err_f = std::max(err_f, std::fabs(double(yf[i]) - ref));
      norm = std::max(norm, std::fabs(ref));
    }
    CHECK(norm > 0);
    CHECK(err / norm < 1e-12);
    CHECK(err_f / norm < 1e-5);
  }
}

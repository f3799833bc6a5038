// The C++ API on its own, without Python: solves against closed forms on
// every backend that can run here, certificates, and the error kinds.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "omtcore/omtcore.hpp"

namespace {

// Net outflow of a (d, cells) flux on a full 2D grid.
std::vector<double> divergence(const std::vector<double>& flux, std::int64_t n0, std::int64_t n1) {
  const std::int64_t n = n0 * n1;
  std::vector<double> div(n, 0);
  for (std::int64_t i = 0; i < n0; ++i)
    for (std::int64_t j = 0; j < n1; ++j) {
      std::int64_t c = i * n1 + j;
      div[c] += flux[c] + flux[n + c];
      if (i > 0) div[c] -= flux[c - n1];
      if (j > 0) div[c] -= flux[n + c - 1];
    }
  return div;
}

// Every backend that can run here: the closed-form cases run on each. A
// backend named in OMTCORE_REQUIRE_BACKENDS (comma-separated, as for the
// Python tests) that cannot run fails the test instead of being left out.
std::vector<std::string> runnable_backends() {
  std::vector<std::string> out;
  for (const auto& info : omtcore::backends())
    if (info.available) out.push_back(info.name);
  if (const char* required = std::getenv("OMTCORE_REQUIRE_BACKENDS")) {
    std::stringstream names(required);
    for (std::string name; std::getline(names, name, ',');)
      if (!name.empty())
        REQUIRE_MESSAGE(std::find(out.begin(), out.end(), name) != out.end(),
                        "required backend '" << name << "' cannot run here");
  }
  return out;
}

// Closed form of 1D transport: h * sum |cumsum(a - b)|.
double transport_1d(const std::vector<double>& a, const std::vector<double>& b, double h) {
  double total = 0, c = 0;
  for (std::size_t i = 0; i < a.size(); ++i) total += std::fabs(c += a[i] - b[i]);
  return h * total;
}

}  // namespace

TEST_CASE("a unit mass moved 7 cells along axis 0 costs 7 h, with a feasible flux") {
  const std::int64_t n0 = 12, n1 = 9;
  std::vector<double> a(n0 * n1, 0), b(n0 * n1, 0);
  a[2 * n1 + 3] = 1;
  b[9 * n1 + 3] = 1;
  for (const std::string& backend : runnable_backends())
  for (auto norm : {omtcore::Norm::isotropic, omtcore::Norm::anisotropic}) {
    CAPTURE(backend);
    omtcore::ScalarProblem p;
    p.grid.shape = {n0, n1};
    p.grid.spacing = {0.5};
    p.a = a.data();
    p.b = b.data();
    p.norm = norm;
    omtcore::SolveOptions o;
    o.tol = 1e-5;
    o.dtype = omtcore::Dtype::float64;
    o.backend = backend;
    omtcore::Result r = omtcore::solve(p, o);
    CHECK(r.converged);
    CHECK(r.backend == backend);
    CHECK(r.lower_bound <= 3.5 + 1e-12);
    CHECK(r.distance >= 3.5 - 1e-12);
    CHECK(r.distance == doctest::Approx(3.5).epsilon(1e-4));
    auto div = divergence(r.flux, n0, n1);
    for (std::int64_t c = 0; c < n0 * n1; ++c) CHECK(std::fabs(div[c] - (a[c] - b[c])) < 1e-12);
  }
}

TEST_CASE("unbalanced: a unit 7 cells away costs min(7 h, 2 lam); flux and source are exactly feasible") {
  const std::int64_t n0 = 12, n1 = 9;
  std::vector<double> a(n0 * n1, 0), b(n0 * n1, 0);
  a[2 * n1 + 3] = 1;
  b[9 * n1 + 3] = 1;
  for (const std::string& backend : runnable_backends())
    for (double lam : {1.0, 3.0}) {
      CAPTURE(backend);
      CAPTURE(lam);
      omtcore::ScalarProblem p;
      p.grid.shape = {n0, n1};
      p.grid.spacing = {0.5};
      p.a = a.data();
      p.b = b.data();
      p.norm = omtcore::Norm::anisotropic;
      p.unbalanced = lam;
      omtcore::SolveOptions o;
      o.tol = 1e-6;
      o.dtype = omtcore::Dtype::float64;
      o.backend = backend;
      omtcore::Result r = omtcore::solve(p, o);
      const double exact = std::min(3.5, 2 * lam);
      CHECK(r.converged);
      CHECK(r.lower_bound <= exact + 1e-12);
      CHECK(r.distance >= exact - 1e-12);
      CHECK(r.distance == doctest::Approx(exact).epsilon(1e-5));
      REQUIRE(r.source.size() == a.size());
      CHECK(r.exchange.empty());
      auto div = divergence(r.flux, n0, n1);
      for (std::int64_t c = 0; c < n0 * n1; ++c) CHECK(std::fabs(div[c] + r.source[c] - (a[c] - b[c])) < 1e-12);
    }
  omtcore::ScalarProblem p;
  p.grid.shape = {n0, n1};
  p.a = a.data();
  p.b = b.data();
  CHECK(omtcore::solve(p).source.empty());  // balanced
  for (double bad : {0.0, -1.0, double(INFINITY), double(NAN)}) {
    p.unbalanced = bad;
    CHECK_THROWS_AS(omtcore::solve(p), omtcore::InvalidInputError);
  }
}

TEST_CASE("1D transport equals h * sum |cumsum(a - b)|") {
  std::vector<double> a = {0.1, 0.4, 0.0, 0.2, 0.3, 0.0, 0.0, 0.0};
  std::vector<double> b = {0.0, 0.0, 0.3, 0.1, 0.1, 0.2, 0.1, 0.2};
  const double exact = transport_1d(a, b, 2.0);
  omtcore::ScalarProblem p;
  p.grid.shape = {static_cast<std::int64_t>(a.size())};
  p.grid.spacing = {2.0};
  p.a = a.data();
  p.b = b.data();
  for (const std::string& backend : runnable_backends()) {
    CAPTURE(backend);
    omtcore::SolveOptions o;
    o.tol = 1e-6;
    o.dtype = omtcore::Dtype::float64;
    o.backend = backend;
    auto r = omtcore::solve(p, o);
    CHECK(r.backend == backend);
    CHECK(r.lower_bound <= exact * (1 + 1e-12));
    CHECK(r.distance >= exact * (1 - 1e-12));
    CHECK(r.distance == doctest::Approx(exact).epsilon(1e-5));
  }
}

TEST_CASE("bad input throws InvalidInputError, unknown backends are named") {
  std::vector<double> a = {1, 0, 0}, b = {0, 0, 2};
  omtcore::ScalarProblem p;
  p.grid.shape = {3};
  p.a = a.data();
  p.b = b.data();
  CHECK_THROWS_AS(omtcore::solve(p), omtcore::InvalidInputError);  // unequal totals
  b[2] = 1;
  omtcore::SolveOptions o;
  o.backend = "quantum";
  CHECK_THROWS_AS(omtcore::solve(p, o), omtcore::InvalidInputError);
  CHECK_THROWS_AS(omtcore::parse_norm("euclid"), omtcore::InvalidInputError);
  auto list = omtcore::backends();
  for (const auto& info : list)  // e.g. CUDA on a machine without a GPU
    if (!info.available) {
      o.backend = info.name;
      CHECK_THROWS_AS(omtcore::solve(p, o), omtcore::BackendUnavailableError);
    }
  REQUIRE(list.size() == 3);
  CHECK(list.back().name == "cpu");
  CHECK(list.back().available);
}

TEST_CASE("vector OMT: a unit changing cell and channel costs h + alpha w, layouts as documented") {
  // 1D, 2 cells, 2 channels, one edge of weight 2: (cell 0, ch 0) -> (cell 1, ch 1).
  std::vector<double> a = {1, 0, 0, 0}, b = {0, 0, 0, 1};  // (cells, k), channel last
  for (const std::string& backend : runnable_backends())
  for (auto norm : {omtcore::Norm::isotropic, omtcore::Norm::anisotropic}) {
    CAPTURE(backend);
    omtcore::VectorProblem p;
    p.grid.shape = {2};
    p.grid.spacing = {0.5};
    p.channels = 2;
    p.a = a.data();
    p.b = b.data();
    p.edges = std::vector<std::array<int, 2>>{{0, 1}};
    p.weights = {2.0};
    p.alpha = 0.3;
    p.norm = norm;
    omtcore::SolveOptions o;
    o.tol = 1e-6;
    o.dtype = omtcore::Dtype::float64;
    o.backend = backend;
    omtcore::Result r = omtcore::solve(p, o);
    CHECK(r.backend == backend);
    CHECK(r.converged);
    CHECK(r.lower_bound <= 1.1 + 1e-12);
    CHECK(r.distance >= 1.1 - 1e-12);
    CHECK(r.distance == doctest::Approx(1.1).epsilon(1e-5));
    REQUIRE(r.flux.size() == 1 * 2 * 2);    // (d, cells, k)
    REQUIRE(r.exchange.size() == 1 * 2);    // (edges, cells)
    REQUIRE(r.potential.size() == 2 * 2);   // (cells, k)
    // Feasible: per (cell, channel) div F + exchange out - exchange in = a - b.
    const double F0 = r.flux[0 * 2 + 0], F1 = r.flux[0 * 2 + 1];  // face 0 -> 1, channels 0 and 1
    const double G0 = r.exchange[0], G1 = r.exchange[1];          // channel 0 -> 1 in cells 0 and 1
    CHECK(F0 + G0 == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(F1 - G0 == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(-F0 + G1 == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(-F1 - G1 == doctest::Approx(-1.0).epsilon(1e-12));
  }
}

TEST_CASE("matrix OMT: diag(1, 0) -> diag(0, 1) in one cell costs alpha / sqrt 2 (Frobenius), alpha (nuclear)") {
  // Interleaved complex, row-major: A = diag(1, 0), B = diag(0, 1).
  std::vector<double> A = {1, 0, 0, 0, 0, 0, 0, 0}, B = {0, 0, 0, 0, 0, 0, 1, 0};
  for (const std::string& backend : runnable_backends())
  for (auto norm : {omtcore::MatrixNorm::frobenius, omtcore::MatrixNorm::nuclear}) {
    CAPTURE(backend);
    omtcore::MatrixProblem p;
    p.grid.shape = {1};
    p.k = 2;
    p.a = A.data();
    p.b = B.data();
    p.alpha = 0.8;
    p.matrix_norm = norm;
    omtcore::SolveOptions o;
    o.tol = 1e-6;
    o.dtype = omtcore::Dtype::float64;
    o.backend = backend;
    omtcore::Result r = omtcore::solve(p, o);
    CHECK(r.backend == backend);
    const double exact = norm == omtcore::MatrixNorm::frobenius ? 0.8 / std::sqrt(2.0) : 0.8;
    CHECK(r.converged);
    CHECK(r.lower_bound <= exact * (1 + 1e-12));
    CHECK(r.distance >= exact * (1 - 1e-12));
    CHECK(r.distance == doctest::Approx(exact).epsilon(1e-5));
    CHECK(r.exchange.size() == 3 * 1 * 2 * 2 * 2);  // (N, cells, k, k, re/im), Pauli
    CHECK(r.potential.size() == 1 * 2 * 2 * 2);
  }
}

TEST_CASE("vector and matrix inputs are validated") {
  std::vector<double> a = {1, 0, 0, 1}, b = {0, 1, 1, 0};
  omtcore::VectorProblem p;
  p.grid.shape = {2};
  p.channels = 2;
  p.a = a.data();
  p.b = b.data();
  p.edges = std::vector<std::array<int, 2>>{{0, 2}};
  CHECK_THROWS_AS(omtcore::solve(p), omtcore::InvalidInputError);
  p.edges = std::vector<std::array<int, 2>>{{1, 1}};
  CHECK_THROWS_AS(omtcore::solve(p), omtcore::InvalidInputError);
  p.edges.reset();
  p.alpha = -1;
  CHECK_THROWS_AS(omtcore::solve(p), omtcore::InvalidInputError);

  std::vector<double> A = {1, 0, 0, 0, 0, 0, -1, 0}, B = {0, 0, 0, 0, 0, 0, 0, 0};  // indefinite
  omtcore::MatrixProblem m;
  m.grid.shape = {1};
  m.k = 2;
  m.a = A.data();
  m.b = B.data();
  CHECK_THROWS_AS(omtcore::solve(m), omtcore::InvalidInputError);
}

TEST_CASE("multilevel warm start: coarse grids report their level, the answer is the fine grid's") {
  // A square moved by 8 cells on a 64 x 64 grid: one coarse level (32 x 32).
  const std::int64_t n = 64;
  std::vector<double> a(n * n, 0), b(n * n, 0);
  for (std::int64_t i = 16; i < 24; ++i)
    for (std::int64_t j = 16; j < 24; ++j) {
      a[i * n + j] = 1;
      b[(i + 8) * n + j] = 1;
    }
  omtcore::ScalarProblem p;
  p.grid.shape = {n, n};
  p.a = a.data();
  p.b = b.data();
  p.norm = omtcore::Norm::anisotropic;
  struct Seen {
    int max_level = 0;
    std::int64_t last_fine = 0;
    bool increasing = true;
  } seen;
  omtcore::SolveOptions o;
  o.tol = 1e-6;
  o.dtype = omtcore::Dtype::float64;
  o.callback = [](const omtcore::Progress& progress, void* data) {
    auto* s = static_cast<Seen*>(data);
    s->max_level = std::max(s->max_level, progress.level);
    if (progress.level == 0) {
      s->increasing = s->increasing && progress.iteration > s->last_fine;
      s->last_fine = progress.iteration;
    }
    return true;
  };
  o.callback_data = &seen;
  omtcore::Result r = omtcore::solve(p, o);
  CHECK(r.converged);
  CHECK(r.levels == 2);
  CHECK(seen.max_level == 1);
  CHECK(seen.increasing);
  CHECK(seen.last_fine <= r.iterations);
  const double exact = 8.0 * 64;  // h D mass
  CHECK(r.lower_bound <= exact * (1 + 1e-12));
  CHECK(r.distance >= exact * (1 - 1e-12));
  CHECK(r.gap <= 1e-6);
  o.method = omtcore::Method::adaptive;
  CHECK(omtcore::solve(p, o).levels == 1);

  // max_iter bounds every grid, the coarse ones too.
  struct Longest {
    std::int64_t coarse = 0;
  } longest;
  o.method = omtcore::Method::automatic;
  o.tol = 1e-12;
  o.max_iter = 10;  // the coarse grid alone needs more to reach its 1e-3
  o.check_every = 5;
  o.callback = [](const omtcore::Progress& progress, void* data) {
    auto* l = static_cast<Longest*>(data);
    if (progress.level > 0) l->coarse = std::max(l->coarse, progress.iteration);
    return true;
  };
  o.callback_data = &longest;
  omtcore::Result capped = omtcore::solve(p, o);
  CHECK(capped.iterations == 10);
  CHECK(capped.levels == 2);
  CHECK(longest.coarse == 10);
  o.tol = 1e-6;
  o.max_iter = 0;
  o.check_every = 0;

  // Stopped on the coarse grid: the whole solve stops, with the prolonged
  // start certified on the fine grid.
  o.method = omtcore::Method::automatic;
  o.callback = [](const omtcore::Progress& progress, void*) { return progress.level == 0; };
  omtcore::Result stopped = omtcore::solve(p, o);
  CHECK(stopped.stopped_by_callback);
  CHECK(!stopped.converged);
  CHECK(stopped.iterations == 0);
  CHECK(stopped.levels == 2);
  CHECK(stopped.lower_bound <= exact * (1 + 1e-12));
  CHECK(stopped.distance >= exact * (1 - 1e-12));
  auto div = divergence(stopped.flux, n, n);
  for (std::int64_t c = 0; c < n * n; ++c) CHECK(std::fabs(div[c] - (a[c] - b[c])) < 1e-12);
}

TEST_CASE("error kinds: each exception class carries its kind") {
  CHECK(omtcore::DeviceError("x").kind() == omtcore::ErrorKind::device);
  CHECK(omtcore::DeviceMemoryError("x").kind() == omtcore::ErrorKind::device_memory);
  CHECK(omtcore::InvalidInputError("x").kind() == omtcore::ErrorKind::invalid_input);
}

TEST_CASE("gell_mann: Pauli X, Y, Z for k = 2, none for k = 1, k^2 - 1 orthogonal ones for k = 3") {
  const std::vector<double> pauli = {0, 0, 1, 0, 1, 0, 0, 0,    // X
                                     0, 0, 0, -1, 0, 1, 0, 0,   // Y
                                     1, 0, 0, 0, 0, 0, -1, 0};  // Z
  CHECK(omtcore::gell_mann(2) == pauli);
  CHECK(omtcore::gell_mann(1).empty());
  const std::vector<double> L = omtcore::gell_mann(3);
  REQUIRE(L.size() == 8 * 9 * 2);
  // tr(L_a L_b) = 2 delta_ab; the matrices are Hermitian, so tr(L_a L_b) = sum L_a conj(L_b).
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      double tr = 0;
      for (int e = 0; e < 9; ++e)
        tr += L[(a * 9 + e) * 2] * L[(b * 9 + e) * 2] + L[(a * 9 + e) * 2 + 1] * L[(b * 9 + e) * 2 + 1];
      CHECK(tr == doctest::Approx(a == b ? 2.0 : 0.0));
    }
  CHECK_THROWS_AS(omtcore::gell_mann(0), omtcore::InvalidInputError);
}

TEST_CASE("batches: each problem's bracket holds its closed form and equals its single solve") {
  // 1D pairs: W1 = h * sum |cumsum(a - b)|.
  const int count = 7, n = 12;
  std::vector<std::vector<double>> as(count), bs(count);
  std::vector<double> exact(count, 0.0);
  std::vector<omtcore::ScalarProblem> problems(count);
  for (int q = 0; q < count; ++q) {
    as[q].assign(n, 0.0);
    bs[q].assign(n, 0.0);
    for (int i = 0; i < n; ++i) {
      as[q][i] = 1.0 + ((i * 7 + q * 3) % 5);
      bs[q][i] = 1.0 + ((i * 5 + q * 11) % 4);
    }
    const double sa = std::accumulate(as[q].begin(), as[q].end(), 0.0);
    const double sb = std::accumulate(bs[q].begin(), bs[q].end(), 0.0);
    for (double& x : bs[q]) x *= sa / sb;
    exact[q] = transport_1d(as[q], bs[q], 1.0);
    problems[q].grid.shape = {n};
    problems[q].a = as[q].data();
    problems[q].b = bs[q].data();
    problems[q].norm = omtcore::Norm::anisotropic;
  }
  for (const std::string& backend : runnable_backends()) {
    CAPTURE(backend);
    omtcore::SolveOptions o;
    o.tol = 1e-6;
    o.dtype = omtcore::Dtype::float64;
    o.backend = backend;
    const auto results = omtcore::solve_batch(problems, o);
    REQUIRE(results.size() == std::size_t(count));
    omtcore::SolveOptions single = o;
    if (backend == "cpu") single.threads = 1;
    for (int q = 0; q < count; ++q) {
      CAPTURE(q);
      CHECK(results[q].converged);
      CHECK(results[q].lower_bound <= exact[q] * (1 + 1e-12));
      CHECK(results[q].distance >= exact[q] * (1 - 1e-12));
      CHECK(results[q].distance == doctest::Approx(exact[q]).epsilon(1e-5));
      const auto alone = omtcore::solve(problems[q], single);
      CHECK(results[q].distance == alone.distance);
      CHECK(results[q].lower_bound == alone.lower_bound);
      CHECK(results[q].iterations == alone.iterations);
      CHECK(results[q].flux == alone.flux);
    }
    const auto bare = omtcore::solve_batch(problems, o, false);
    CHECK(bare[3].distance == results[3].distance);
    CHECK(bare[3].flux.empty());
    CHECK(bare[3].potential.empty());
    // Warm starts, one per problem: each start already meets tol, so it is
    // certified as it is (0 iterations); a null entry starts afresh.
    std::vector<const omtcore::Result*> starts;
    for (const auto& r : results) starts.push_back(&r);
    starts[2] = nullptr;
    const auto warm = omtcore::solve_batch(problems, o, true, starts);
    for (int q = 0; q < count; ++q) {
      CAPTURE(q);
      CHECK(warm[q].converged);
      CHECK(warm[q].iterations == (q == 2 ? results[q].iterations : 0));
      CHECK(warm[q].lower_bound <= exact[q] * (1 + 1e-12));
      CHECK(warm[q].distance >= exact[q] * (1 - 1e-12));
    }
    starts.pop_back();
    CHECK_THROWS_AS(omtcore::solve_batch(problems, o, true, starts), omtcore::InvalidInputError);
  }
  CHECK(omtcore::solve_batch(std::vector<omtcore::ScalarProblem>{}).empty());
}

TEST_CASE("batches: every problem is validated first, errors name the problems, a callback stops them all") {
  std::vector<double> a = {1, 0, 0, 0}, b = {0, 0, 0, 1}, bad = {0, 0, 0, 2};
  std::vector<omtcore::ScalarProblem> problems(5);
  for (auto& p : problems) {
    p.grid.shape = {4};
    p.a = a.data();
    p.b = b.data();
  }
  problems[2].b = bad.data();
  problems[4].b = bad.data();
  int calls = 0;
  omtcore::SolveOptions o;
  o.callback = [](const omtcore::Progress&, void* data) {
    ++*static_cast<int*>(data);
    return true;
  };
  o.callback_data = &calls;
  try {
    omtcore::solve_batch(problems, o);
    FAIL("no error");
  } catch (const omtcore::InvalidInputError& e) {
    const std::string message = e.what();
    CHECK(message.find("problems 2, 4") != std::string::npos);
    CHECK(message.find("total") != std::string::npos);
  }
  CHECK(calls == 0);  // nothing ran
  problems[2].b = problems[4].b = b.data();
  o.initial = nullptr;
  omtcore::Result start;
  o.initial = &start;
  CHECK_THROWS_AS(omtcore::solve_batch(problems, o), omtcore::InvalidInputError);
  o.initial = nullptr;

  // A callback that stops the batch at its first report: nothing is solved
  // after it, and what did not start says so with a rigorous bracket.
  o.callback = [](const omtcore::Progress&, void*) { return false; };
  o.threads = 1;
  const auto stopped = omtcore::solve_batch(problems, o);
  REQUIRE(stopped.size() == problems.size());
  int unstarted = 0;
  for (const auto& r : stopped) {
    CHECK(r.stopped_by_callback);
    CHECK_FALSE(r.converged);
    CHECK(r.lower_bound <= 3.0);
    CHECK(r.distance >= 3.0);
    if (r.iterations == 0 && std::isinf(r.distance)) ++unstarted;
  }
  CHECK(unstarted >= 3);

  // The reports: per problem (its index) and on the whole batch (-1).
  struct Seen {
    std::vector<std::int64_t> problems;
    std::int64_t most_done = 0;
  } seen;
  o.threads = 0;
  o.check_every = 1;
  o.callback = [](const omtcore::Progress& p, void* data) {
    auto* s = static_cast<Seen*>(data);
    s->problems.push_back(p.problem);
    s->most_done = std::max(s->most_done, p.problems_done);
    return true;
  };
  o.callback_data = &seen;
  omtcore::solve_batch(problems, o);
  for (std::int64_t q = -1; q < 5; ++q)
    CHECK(std::find(seen.problems.begin(), seen.problems.end(), q) != seen.problems.end());
  CHECK(seen.most_done == 5);
}

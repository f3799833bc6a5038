// Milliseconds per Poisson solve of the CPU backend (BatchedDctPoisson, float,
// 2 threads) on n x n grids, for lengths with every kind of largest prime
// factor: what sets kLargestDirectRadix in cpp/src/transforms/fft.hpp. Build
// it once per rule and run the builds side by side:
//
//   for r in 31 5 1073741824; do
//     g++ -O3 -fopenmp -std=c++17 -DOMTCORE_LARGEST_DIRECT_RADIX=$r -Icpp/src -Icpp/include \
//         benchmarks/poisson_lengths.cpp cpp/src/core/domain.cpp -o /tmp/poisson_lengths_$r
//   done
//   for r in 31 5 1073741824; do OMP_NUM_THREADS=2 /tmp/poisson_lengths_$r 512 520 ...; done
//
// (1073741824: never the chirp-z transform; 5: whenever a factor above 5 appears.)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "backends/cpu/batched_dct.hpp"
#include "core/domain.hpp"

using namespace omtcore::detail;

int main(int argc, char** argv) {
  std::printf("| n | largest prime factor | chirp-z | ms per solve | ns per cell |\n|---|---|---|---|---|\n");
  for (int i = 1; i < argc; ++i) {
    const std::int64_t n = std::atol(argv[i]);
    omtcore::Grid grid;
    grid.shape = {n, n};
    grid.spacing = {1.0};
    const Domain dom = Domain::build(grid, nullptr);
    GridSetup setup;
    setup.domain = &dom;
    setup.poisson = PoissonGrid::over(dom.d, dom.n);  // the transform of side n itself
    for (int s = 0; s < 2; ++s)
      for (std::int64_t k = 0; k < n; ++k)
        setup.laplacian_eigenvalues[s].push_back(2 - 2 * std::cos(3.14159265358979323846 * double(k) / double(n)));
    BatchedDctPoisson<float> poisson(setup);
    std::vector<float> x(n * n);
    for (std::int64_t j = 0; j < n * n; ++j) x[j] = float((j * 7919) % 1000) / 1000.0f - 0.5f;
    for (int r = 0; r < 3; ++r) poisson.solve(x.data());  // warm up threads and caches
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t = std::chrono::steady_clock::now();
      for (int r = 0; r < 5; ++r) poisson.solve(x.data());
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count() / 5);
    }
    std::printf("| %lld | %lld | %s | %.3f | %.2f |\n", (long long)n, (long long)largest_prime_factor(n),
                uses_chirp_z(n) ? "yes" : "no", best * 1e3, best * 1e9 / double(n * n));
  }
}

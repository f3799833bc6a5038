#include "backends/device/plan.hpp"

#include <cmath>

#include "transforms/fft.hpp"

namespace omtcore::detail {

AxisDct plan_axis_dct(std::int64_t n) {
  const double pi = 3.14159265358979323846;
  AxisDct out;
  out.cosines.resize(n);
  out.sines.resize(n);
  out.scale.resize(n);
  for (std::int64_t k = 0; k < n; ++k) {
    out.cosines[k] = std::cos(pi * double(k) / (2.0 * double(n)));
    out.sines[k] = std::sin(pi * double(k) / (2.0 * double(n)));
    out.scale[k] = std::sqrt((k == 0 ? 1.0 : 2.0) / double(n));
  }
  auto& table = out.table;
  const std::int64_t length = uses_chirp_z(n) ? chirp_z_length(n) : n;
  std::int64_t rest = length, span = 1;
  auto add_stage = [&](int radix) {
    FftStage st{radix, span, std::int64_t(table.size() / 2), 0};
    for (std::int64_t k = 0; k < span; ++k)
      for (int q = 0; q < radix; ++q) {
        const double angle = -2.0 * pi * double(q) * double(k) / double(span * radix);
        table.push_back(std::cos(angle));
        table.push_back(std::sin(angle));
      }
    st.roots = std::int64_t(table.size() / 2);
    for (int t = 0; t < radix; ++t) {
      table.push_back(std::cos(-2.0 * pi * t / radix));
      table.push_back(std::sin(-2.0 * pi * t / radix));
    }
    out.stages.push_back(st);
    span *= radix;
    rest /= radix;
  };
  for (int radix : {8, 4, 2})
    while (rest % radix == 0) add_stage(radix);
  for (int radix = 3; rest > 1; radix += 2)
    while (rest % radix == 0) add_stage(radix);
  if (length != n) {
    out.chirp_length = length;
    out.chirp = std::int64_t(table.size() / 2);
    for (std::int64_t k = 0; k < n; ++k) {
      const std::complex<double> w = chirp(k, n);
      table.push_back(w.real());
      table.push_back(w.imag());
    }
    out.kernel = std::int64_t(table.size() / 2);
    for (const std::complex<double>& b : chirp_z_kernel(n, length)) {
      table.push_back(b.real());
      table.push_back(b.imag());
    }
  }
  if (table.empty()) table.assign(2, 0.0);  // n = 1: no stage; device buffers cannot be empty
  return out;
}

std::vector<double> laplacian_per_cell(const GridSetup& grid) {
  const PoissonGrid& pg = grid.poisson;
  std::vector<double> eig(pg.cells, 0.0);
  for (std::int64_t i = 0; i < pg.cells; ++i)
    for (int s = 0; s < pg.d; ++s) eig[i] += grid.laplacian_eigenvalues[s][(i / pg.stride[s]) % pg.n[s]];
  return eig;
}

}  // namespace omtcore::detail

#include "backends/device/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "omtcore/errors.hpp"

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

DeviceTransform device_transform_from_environment(bool gpu) {
  const char* value = std::getenv("OMTCORE_DEVICE_TRANSFORM");
  const std::string name = value ? value : "";
  if (name.empty() || name == "auto") return gpu ? DeviceTransform::stages : DeviceTransform::rows;
  if (name == "stages") return DeviceTransform::stages;
  if (name == "rows") return DeviceTransform::rows;
  throw InvalidInputError("OMTCORE_DEVICE_TRANSFORM must be 'auto', 'stages' or 'rows'; got '" + name + "'");
}

AxisRows plan_axis_rows(std::int64_t n, std::int64_t inner, std::int64_t lines, std::size_t real,
                        std::size_t local_bytes, int group) {
  AxisRows out;
  if (n < 2) return out;
  std::int64_t rest = n;
  int stages = 0;
  for (int radix : {4, 2, 3, 5, 7})
    while (rest % radix == 0 && stages < 15) {
      out.radices |= std::int64_t(radix) << (4 * stages++);
      rest /= radix;
      if (radix == 2) break;  // 4s first: at most one radix-2 stage
    }
  const std::size_t line = AxisRows::line_bytes(n, real);
  if (rest != 1 || line > local_bytes) return AxisRows{};
  // Rows: enough lines for two entries per work-item. Columns: up to 16
  // neighbours (64 bytes of floats per load), a power of two.
  std::int64_t tile = std::int64_t(local_bytes / line);
  if (inner == 1) {
    tile = std::min({tile, std::max<std::int64_t>(1, 2 * group / n), lines});
  } else {
    std::int64_t pow2 = 1;
    while (2 * pow2 <= std::min<std::int64_t>({tile, 16, inner})) pow2 *= 2;
    tile = pow2;
  }
  out.tile = int(std::max<std::int64_t>(tile, 1));
  const double pi = 3.14159265358979323846;
  for (std::int64_t t = 0; t < n; ++t) {
    out.roots.push_back(std::cos(-2.0 * pi * double(t) / double(n)));
    out.roots.push_back(std::sin(-2.0 * pi * double(t) / double(n)));
  }
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

// Host-side setup shared by the device backends (OpenCL, CUDA): the tables of
// the FFT-based DCT their Poisson solve runs (kernels.cl documents the
// transform), the Laplacian's eigenvalue per transform coefficient, and a
// scalar problem as a field problem of one plane with no exchange.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/backend.hpp"

namespace omtcore::detail {

// One Stockham stage of radix `radix` after stages of total size `span`; its
// twiddles e^{-2 pi i q k / (span radix)} (at [k * radix + q]) and roots
// e^{-2 pi i t / radix} start at these complex offsets of AxisDct::table.
struct FftStage {
  int radix;
  std::int64_t span, twiddles, roots;
};

// The DCT of one axis of length n: cos and sin of pi k / 2n, the orthonormal
// scaling sqrt((k ? 2 : 1) / n), and the FFT of length n: radices 8, 4, 2,
// then odd factors up to kLargestDirectRadix; a length with a larger prime
// factor runs by the chirp-z transform (transforms/fft.hpp), whose stages are
// then those of the convolution length M = chirp_length. Every stage's
// twiddles and roots, and the chirp-z tables (w_k for k < n at complex offset
// `chirp`, FFT(conj w) / M at `kernel`), interleaved (re, im) in `table`.
struct AxisDct {
  std::vector<double> cosines, sines, scale, table;
  std::vector<FftStage> stages;
  std::int64_t chirp_length = 0;  // 0: mixed-radix stages of length n
  std::int64_t chirp = 0, kernel = 0;
};

AxisDct plan_axis_dct(std::int64_t n);

// Stage i of an axis transform of `count` stages (omt_fft_stage in
// kernels.cl): the first reads the array itself, the last of two or more
// writes it; otherwise stage i reads ping-pong buffer `in` and writes `out`
// (i % 2). A one-stage transform ends with the post-pass reading buffer 0;
// a length-1 axis has no stage (its DCT is the identity).
struct StageRole {
  int first, last, in, out;
};
inline StageRole stage_role(std::size_t i, std::size_t count) {
  return {i == 0, i > 0 && i + 1 == count, int((i + 1) % 2), int(i % 2)};
}

// Which transform the device backends' Poisson solve runs: `stages` (one
// launch per FFT stage, omt_fft_stage) or `rows` (whole lines in work-group
// memory, omt_dct_rows, for the axes plan_axis_rows accepts), from the
// environment variable OMTCORE_DEVICE_TRANSFORM; unset or `auto`: rows on a
// CPU device (where it was measured faster), stages on a GPU (rows there
// unmeasured, benchmarks/RESULTS.md). Anything else is an InvalidInputError.
enum class DeviceTransform { stages, rows };
DeviceTransform device_transform_from_environment(bool gpu);

// An axis of length n and stride `inner` by omt_dct_rows: `tile` lines per
// work-group (0: the axis cannot run so, and takes the stages), the stages'
// radices packed 4 bits each (first stage lowest: 4s, a 2, then 3s, 5s, 7s),
// and W_n^t for t < n interleaved. Lengths with another prime factor, and
// lines whose tile would not fit `local_bytes` of work-group memory, are
// not accepted.
struct AxisRows {
  int tile = 0;
  std::int64_t radices = 0;
  std::vector<double> roots;
  // A line's complex entries in work-group memory, at an odd stride (kernels.cl).
  static std::size_t line_bytes(std::int64_t n, std::size_t real) { return 2 * std::size_t(n + 1 - (n & 1)) * real; }
  std::size_t local_bytes(std::int64_t n, std::size_t real) const { return std::size_t(tile) * line_bytes(n, real); }
};
AxisRows plan_axis_rows(std::int64_t n, std::int64_t inner, std::int64_t lines, std::size_t real,
                        std::size_t local_bytes, int group);

// sum_s laplacian_eigenvalues[s][k_s] for every cell (k_0, k_1, k_2) of the Poisson grid.
std::vector<double> laplacian_per_cell(const GridSetup& grid);

}  // namespace omtcore::detail

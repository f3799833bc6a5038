// Host memory estimate and limits (host_memory.hpp).
#include "core/host_memory.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#if defined(__linux__)
#include <sys/resource.h>
#endif

#include "omtcore/errors.hpp"

namespace omtcore::detail {

namespace {

double grid_cells(const Grid& grid) {
  double n = 1;
  for (auto s : grid.shape) n *= s > 0 ? double(s) : 0.0;
  return n;
}

// A "Key:   N kB" line of a /proc file, in bytes; -1 if absent.
double proc_kib(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':') {
      std::istringstream rest(line.substr(key.size() + 1));
      double kib = -1;
      rest >> kib;
      return kib >= 0 ? kib * 1024.0 : -1;
    }
  return -1;
}

// A file holding one number (or "max"), -1 if absent or unlimited.
double number_file(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return -1;
  try {
    return std::stod(word);
  } catch (...) {
    return -1;
  }
}

// The cgroup's limit minus its usage (v2, else v1); -1 when unlimited or unknown.
double cgroup_room() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, v2_path;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) v2_path = line.substr(3);
  for (const std::string& dir : {"/sys/fs/cgroup" + v2_path, std::string("/sys/fs/cgroup")}) {
    const double limit = number_file(dir + "/memory.max"), used = number_file(dir + "/memory.current");
    if (limit > 0 && used >= 0) return std::max(0.0, limit - used);
  }
  const double limit = number_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  const double used = number_file("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  if (limit > 0 && limit < 1e18 && used >= 0) return std::max(0.0, limit - used);
  return -1;
}

}  // namespace

std::string mib(double bytes) { return std::to_string(std::llround(bytes / 1048576.0)) + " MiB"; }

double result_bytes(const ProblemSize& s) {
  const double values = double(s.planes) * s.d + s.columns + s.planes;  // flux, exchange and source, potential
  return 8.0 * s.cells * values * (s.complex_result ? 2 : 1);
}

ProblemSize problem_size(const ScalarProblem& p) {
  ProblemSize s;
  s.cells = grid_cells(p.grid);
  s.d = int(std::max<std::size_t>(1, p.grid.shape.size()));
  s.columns = p.unbalanced ? 1 : 0;
  s.masked = p.mask != nullptr;
  return s;
}

ProblemSize problem_size(const VectorProblem& p) {
  ProblemSize s;
  s.cells = grid_cells(p.grid);
  s.d = int(std::max<std::size_t>(1, p.grid.shape.size()));
  s.planes = std::max(1, p.channels);
  const int edges = p.edges ? int(p.edges->size()) : s.planes * (s.planes - 1) / 2;
  s.columns = edges + (p.unbalanced ? s.planes : 0);
  s.masked = p.mask != nullptr;
  return s;
}

ProblemSize problem_size(const MatrixProblem& p) {
  ProblemSize s;
  s.cells = grid_cells(p.grid);
  s.d = int(std::max<std::size_t>(1, p.grid.shape.size()));
  const int k = std::max(1, p.k), P = k * k;
  s.planes = P;
  const int L = p.L ? int(p.L->size() / (2 * std::size_t(P))) : P - 1;
  s.columns = (L + (p.unbalanced ? 1 : 0)) * P;
  s.masked = p.mask != nullptr;
  s.stored_rhs = true;
  s.complex_result = true;
  return s;
}

double host_peak_bytes(const ProblemSize& s, Dtype dtype, bool host_iterate) {
  const double T = dtype == Dtype::float64 ? 8 : 4, P = s.planes, fields = P * s.d + s.columns;
  // Per cell. The CPU backend's iterate: v, x (with extrapolation, anchor
  // and restart point), the double potential (three copies), the residual
  // and right-hand side, and the Poisson solve's extended rectangle (at most
  // 11% longer per axis).
  const double iterate = host_iterate ? 4 * T * fields + 3 * 8 * P + 2 * T * P + 1.4 * T : 0;
  // The driver's right-hand side (kept as the certificates' scratch), the
  // domain's bits (and with a mask its parts and BFS forest), a stored
  // right-hand side; the certificates: the iterate read back in double and
  // the best certified one, with a potential's candidates; the result in
  // the user's layout.
  const double driver = 8 * P + 2 + (s.masked ? 20 : 0) + (s.stored_rhs ? 8 * P : 0);
  const double certificates = 2 * 8 * (fields + P) + 3 * 8 * P + 8 * fields;
  // The warm start's coarse grids are freed before this grid's first
  // certificate, the peak. A tenth more for what the count leaves out (the
  // allocator's rounding, per-thread buffers): checked against the measured
  // peak of every kind in tests/solver/test_memory.py.
  return 1.1 * s.cells * (iterate + driver + certificates);
}

HostRoom host_room() {
  HostRoom room{std::numeric_limits<double>::infinity(), ""};
  auto consider = [&](double bytes, const char* limit) {
    if (bytes >= 0 && bytes < room.bytes) room = {bytes, limit};
  };
  consider(proc_kib("/proc/meminfo", "MemAvailable"), "available memory");
#if defined(__linux__)
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    const double used = proc_kib("/proc/self/status", "VmSize");
    if (used >= 0) consider(std::max(0.0, double(as.rlim_cur) - used), "the address-space limit");
  }
#endif
  consider(cgroup_room(), "the cgroup limit");
  return room;
}

void check_host_memory(const ProblemSize& size, Dtype dtype, bool host_iterate) {
  const double need = host_peak_bytes(size, dtype, host_iterate);
  if (need < kUncheckedBytes) return;  // small solves skip reading the limits
  const HostRoom room = host_room();
  if (need > room.bytes)
    throw DeviceMemoryError("host memory: this solve needs about " + mib(need) + " (" +
                            std::to_string(std::llround(need / std::max(1.0, size.cells))) + " bytes per cell, " +
                            to_string(dtype) + ") beyond its inputs; " + mib(room.bytes) + " can be allocated (" +
                            room.limit + ")");
}

}  // namespace omtcore::detail

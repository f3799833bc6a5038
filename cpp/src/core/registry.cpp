#include <algorithm>

#include "backends/cpu/cpu_backend.hpp"
#ifdef OMTCORE_HAVE_CUDA
#include "backends/cuda/cuda_backend.hpp"
#endif
#ifdef OMTCORE_HAVE_OPENCL
#include "backends/opencl/opencl_backend.hpp"
#endif
#include "core/backend.hpp"
#include "omtcore/solve.hpp"

namespace omtcore::detail {

namespace {

// Unused when every optional backend is compiled in.
[[maybe_unused]] BackendEntry not_built(const std::string& name, const std::string& why) {
  BackendEntry e;
  e.name = name;
  e.probe = [name, why] {
    BackendInfo info;
    info.name = name;
    info.available = false;
    info.reason = why;
    return info;
  };
  return e;
}

}  // namespace

const std::vector<BackendEntry>& backend_registry() {
  static const std::vector<BackendEntry> registry = {
#ifdef OMTCORE_HAVE_CUDA
      cuda_backend_entry(),
#else
      not_built("cuda", "CUDA backend not compiled in (nvcc not found at build time, or OMTCORE_WITH_CUDA=OFF)"),
#endif
#ifdef OMTCORE_HAVE_OPENCL
      opencl_backend_entry(),
#else
      not_built("opencl", "OpenCL backend not compiled in (built with OMTCORE_WITH_OPENCL=OFF)"),
#endif
      cpu_backend_entry(),
  };
  return registry;
}

}  // namespace omtcore::detail

namespace omtcore {

std::vector<BackendInfo> backends() {
  std::vector<BackendInfo> out;
  for (const auto& entry : detail::backend_registry()) out.push_back(entry.probe());
  return out;
}

}  // namespace omtcore

// The CUDA backend: every problem kind on NVIDIA GPUs, the OpenCL backend's
// design (one thread per cell calling the shared per-cell math, a dense-DCT
// Poisson solve) compiled ahead of time by nvcc. The CUDA runtime is linked
// statically and loads the driver itself, so a machine without one reports
// the backend unavailable instead of failing to load omtcore.
#pragma once

#include "core/backend.hpp"

namespace omtcore::detail {

BackendEntry cuda_backend_entry();

}  // namespace omtcore::detail

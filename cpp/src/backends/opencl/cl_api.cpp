#include "backends/opencl/cl_api.hpp"

#include <cstdlib>
#include <mutex>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include "omtcore/errors.hpp"

namespace omtcore::detail::ocl {

namespace {

struct Loaded {
  Api api;
  bool ok = false;
  std::string why;
};

#ifdef _WIN32
const char* kDefaultLibrary = "OpenCL.dll";
#elif defined(__APPLE__)
const char* kDefaultLibrary = "/System/Library/Frameworks/OpenCL.framework/OpenCL";
#else
const char* kDefaultLibrary = "libOpenCL.so.1";
#endif

Loaded load() {
  Loaded out;
  const char* env = std::getenv("OMTCORE_OPENCL_LIBRARY");
  const char* name = env && *env ? env : kDefaultLibrary;
#ifdef _WIN32
  HMODULE lib = LoadLibraryA(name);
  if (!lib) {
    out.why = std::string("no OpenCL loader: cannot load ") + name;
    return out;
  }
  auto symbol = [&](const char* f) { return reinterpret_cast<void*>(GetProcAddress(lib, f)); };
#else
  void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    out.why = std::string("no OpenCL loader: ") + (err ? err : name);
    return out;
  }
  auto symbol = [&](const char* f) { return dlsym(lib, f); };
#endif
  // The library stays loaded for the life of the process (kernels and
  // contexts cached in it may be in use until exit).
#define OMT_CL_LOAD(f)                                                          \
  out.api.f = reinterpret_cast<decltype(out.api.f)>(symbol(#f));                \
  if (!out.api.f) {                                                             \
    out.why = std::string("OpenCL loader ") + name + " lacks " #f " (OpenCL 1.2 needed)"; \
    return out;                                                                 \
  }
  OMT_CL_FUNCTIONS(OMT_CL_LOAD)
#undef OMT_CL_LOAD
  out.ok = true;
  return out;
}

}  // namespace

const Api* api(std::string* why) {
  static const Loaded loaded = load();
  if (!loaded.ok) {
    if (why) *why = loaded.why;
    return nullptr;
  }
  return &loaded.api;
}

std::string error_name(cl_int code) {
  const char* name = "unknown OpenCL error";
  switch (code) {
#define OMT_CL_CODE(c) case c: name = #c; break;
    OMT_CL_CODE(CL_DEVICE_NOT_FOUND) OMT_CL_CODE(CL_DEVICE_NOT_AVAILABLE)
    OMT_CL_CODE(CL_COMPILER_NOT_AVAILABLE) OMT_CL_CODE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    OMT_CL_CODE(CL_OUT_OF_RESOURCES) OMT_CL_CODE(CL_OUT_OF_HOST_MEMORY)
    OMT_CL_CODE(CL_BUILD_PROGRAM_FAILURE) OMT_CL_CODE(CL_INVALID_VALUE)
    OMT_CL_CODE(CL_INVALID_DEVICE) OMT_CL_CODE(CL_INVALID_CONTEXT)
    OMT_CL_CODE(CL_INVALID_COMMAND_QUEUE) OMT_CL_CODE(CL_INVALID_MEM_OBJECT)
    OMT_CL_CODE(CL_INVALID_BUILD_OPTIONS) OMT_CL_CODE(CL_INVALID_PROGRAM)
    OMT_CL_CODE(CL_INVALID_KERNEL_NAME) OMT_CL_CODE(CL_INVALID_KERNEL)
    OMT_CL_CODE(CL_INVALID_ARG_INDEX) OMT_CL_CODE(CL_INVALID_ARG_VALUE)
    OMT_CL_CODE(CL_INVALID_ARG_SIZE) OMT_CL_CODE(CL_INVALID_KERNEL_ARGS)
    OMT_CL_CODE(CL_INVALID_WORK_DIMENSION) OMT_CL_CODE(CL_INVALID_WORK_GROUP_SIZE)
    OMT_CL_CODE(CL_INVALID_WORK_ITEM_SIZE) OMT_CL_CODE(CL_INVALID_GLOBAL_OFFSET)
    OMT_CL_CODE(CL_INVALID_BUFFER_SIZE) OMT_CL_CODE(CL_INVALID_GLOBAL_WORK_SIZE)
    OMT_CL_CODE(CL_INVALID_OPERATION) OMT_CL_CODE(CL_INVALID_PLATFORM)
#undef OMT_CL_CODE
    case -1001: name = "CL_PLATFORM_NOT_FOUND_KHR"; break;
    default: break;
  }
  return std::string(name) + " (" + std::to_string(code) + ")";
}

void check(cl_int code, const char* what) {
  if (code == CL_SUCCESS) return;
  const std::string msg = std::string("OpenCL: ") + what + " failed: " + error_name(code);
  if (code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES ||
      code == CL_OUT_OF_HOST_MEMORY)
    throw DeviceMemoryError(msg + " (out of device memory?)");
  throw DeviceError(msg);
}

}  // namespace omtcore::detail::ocl

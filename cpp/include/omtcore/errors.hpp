// The exceptions omtcore throws. Every failure is one of these five kinds;
// the Python module maps them, in one place (python/omtcore/_omtcore.pxd), to
// InvalidInputError (ValueError), BackendUnavailableError (RuntimeError),
// DeviceMemoryError (MemoryError), DeviceError (RuntimeError) and RuntimeError.
#pragma once

#include <stdexcept>
#include <string>

namespace omtcore {

enum class ErrorKind {
  invalid_input = 1,        // bad shapes, values, options; unbalanced masses
  backend_unavailable = 2,  // backend not built, no driver, no device
  device_memory = 3,        // an allocation on the compute device failed
  internal = 4,             // a bug: please report it
  device = 5,               // the device or its driver failed a call (not for lack of memory)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

class InvalidInputError : public Error {
 public:
  explicit InvalidInputError(const std::string& m) : Error(ErrorKind::invalid_input, m) {}
};

class BackendUnavailableError : public Error {
 public:
  explicit BackendUnavailableError(const std::string& m) : Error(ErrorKind::backend_unavailable, m) {}
};

class DeviceMemoryError : public Error {
 public:
  explicit DeviceMemoryError(const std::string& m) : Error(ErrorKind::device_memory, m) {}
};

// An OpenCL or CUDA call failed for another reason than memory: a lost or
// reset device, a driver or runtime fault, a kernel the driver cannot build or
// launch. The message names the call and the API's error code.
class DeviceError : public Error {
 public:
  explicit DeviceError(const std::string& m) : Error(ErrorKind::device, m) {}
};

}  // namespace omtcore

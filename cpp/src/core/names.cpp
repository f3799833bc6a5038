// Names of the enums, as used by the Python API and the command line.
#include <string>

#include "omtcore/errors.hpp"
#include "omtcore/types.hpp"

namespace omtcore {

namespace {

[[noreturn]] void unknown(const char* what, std::string_view name, const char* valid) {
  throw InvalidInputError(std::string("unknown ") + what + " '" + std::string(name) +
                          "'; expected one of " + valid);
}

}  // namespace

Norm parse_norm(std::string_view name) {
  if (name == "isotropic") return Norm::isotropic;
  if (name == "anisotropic") return Norm::anisotropic;
  unknown("norm", name, "'isotropic', 'anisotropic'");
}

Dtype parse_dtype(std::string_view name) {
  if (name == "float32") return Dtype::float32;
  if (name == "float64") return Dtype::float64;
  unknown("dtype", name, "'float32', 'float64'");
}

Method parse_method(std::string_view name) {
  if (name == "auto") return Method::automatic;
  if (name == "pdhg") return Method::pdhg;
  if (name == "adaptive") return Method::adaptive;
  if (name == "preconditioned") return Method::preconditioned;
  unknown("method", name, "'auto', 'adaptive', 'preconditioned', 'pdhg'");
}

MatrixNorm parse_matrix_norm(std::string_view name) {
  if (name == "frobenius") return MatrixNorm::frobenius;
  if (name == "nuclear") return MatrixNorm::nuclear;
  unknown("matrix norm", name, "'frobenius', 'nuclear'");
}

const char* to_string(MatrixNorm norm) { return norm == MatrixNorm::frobenius ? "frobenius" : "nuclear"; }
const char* to_string(Norm norm) { return norm == Norm::isotropic ? "isotropic" : "anisotropic"; }
const char* to_string(Dtype dtype) { return dtype == Dtype::float32 ? "float32" : "float64"; }
const char* to_string(Method method) {
  switch (method) {
    case Method::automatic: return "auto";
    case Method::adaptive: return "adaptive";
    case Method::preconditioned: return "preconditioned";
    default: return "pdhg";
  }
}

}  // namespace omtcore

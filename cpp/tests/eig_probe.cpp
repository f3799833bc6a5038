// omtcore_eig_probe: the per-cell Hermitian eigensolver (kernels/hermitian_eig.h)
// on matrices read from stdin, for comparison with numpy
// (tests/solver/test_hermitian_eig.py).
//
// Input, whitespace-separated tokens:
//   float|double            precision the solver runs in (inputs are rounded to it)
//   n                       number of matrices
//   n times:  k t  re[0..k*k)  im[0..k*k)
//                           1 <= k <= OMT_MAX_K, t the nuclear-prox threshold,
//                           entries row-major, real parts then imaginary parts
// Output, for each matrix, three lines, numbers in %.17g:
//   eig    w_0 .. w_{k-1}                   eigenvalues, ascending
//   prox   re[0..k*k) im[0..k*k)            omt_herm_nuclear_prox(k, A, t)
//   norms  nuclear op                       omt_herm_nuclear_norm, omt_herm_op_norm
// Malformed input: a message on stderr and exit status 2.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#define OMT_FN static inline
#define OMT_GLOBAL
namespace herm_f32 {
using std::fabs;
using std::sqrt;
typedef float real_t;
#include "kernels/hermitian_eig.h"
}  // namespace herm_f32
namespace herm_f64 {
using std::fabs;
using std::sqrt;
typedef double real_t;
#include "kernels/hermitian_eig.h"
}  // namespace herm_f64
#undef OMT_FN
#undef OMT_GLOBAL

namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "omtcore_eig_probe: %s\n", msg.c_str());
  std::exit(2);
}

// strtod rather than operator>>: it accepts denormals and inf/nan spellings.
double number(const char* what) {
  std::string tok;
  if (!(std::cin >> tok)) fail(std::string("input ends before ") + what);
  char* end = nullptr;
  const double v = std::strtod(tok.c_str(), &end);
  if (end == tok.c_str() || *end != '\0') fail(std::string("not a number for ") + what + ": '" + tok + "'");
  return v;
}

void print_line(const char* tag, const std::vector<double>& v) {
  std::printf("%s", tag);
  for (double x : v) std::printf(" %.17g", x);
  std::printf("\n");
}

template <class R, class Eig, class Prox, class Norm>
void run(int n, Eig eig, Prox prox, Norm nuclear, Norm op) {
  for (int m = 0; m < n; ++m) {
    const double kd = number("k");
    if (!(kd >= 1 && kd <= OMT_MAX_K) || kd != std::floor(kd)) fail("k must be an integer in 1.." + std::to_string(OMT_MAX_K));
    const int k = (int)kd;
    const R t = (R)number("t");
    std::vector<R> re(k * k), im(k * k);
    for (auto& x : re) x = (R)number("a real part");
    for (auto& x : im) x = (R)number("an imaginary part");
    const double nuc = nuclear(k, re.data(), im.data());
    const double opn = op(k, re.data(), im.data());
    std::vector<R> are = re, aim = im, w(k), vre(k * k), vim(k * k);
    eig(k, are.data(), aim.data(), w.data(), vre.data(), vim.data());
    prox(k, re.data(), im.data(), t);
    print_line("eig", std::vector<double>(w.begin(), w.end()));
    std::vector<double> x(re.begin(), re.end());
    x.insert(x.end(), im.begin(), im.end());
    print_line("prox", x);
    print_line("norms", {nuc, opn});
  }
}

}  // namespace

int main() {
  std::string precision;
  if (!(std::cin >> precision)) fail("empty input: expected 'float' or 'double'");
  const double nd = number("the count");
  if (!(nd >= 0) || nd != std::floor(nd)) fail("the count must be a non-negative integer");
  const int n = (int)nd;
  if (precision == "float") {
    run<float>(n, herm_f32::omt_herm_eig, herm_f32::omt_herm_nuclear_prox, herm_f32::omt_herm_nuclear_norm,
               herm_f32::omt_herm_op_norm);
  } else if (precision == "double") {
    run<double>(n, herm_f64::omt_herm_eig, herm_f64::omt_herm_nuclear_prox, herm_f64::omt_herm_nuclear_norm,
                herm_f64::omt_herm_op_norm);
  } else {
    fail("precision must be 'float' or 'double', not '" + precision + "'");
  }
  std::string extra;
  if (std::cin >> extra) fail("unexpected input after the last matrix: '" + extra + "'");
  return 0;
}

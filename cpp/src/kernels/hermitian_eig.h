/* Per-cell Hermitian eigensolver: eigen-decomposition of a small k x k Hermitian
 * matrix, the proximal map of the nuclear norm, and the nuclear and operator
 * norms. Same conventions as cell_math.h: compiles unchanged as C++ (included
 * once per precision inside a namespace), CUDA and OpenCL C 1.2; no templates,
 * no references, no complex type, no allocation, no recursion, and no library
 * call but sqrt and fabs, which the includer provides (e.g. "using std::sqrt;
 * using std::fabs;" in C++).
 *
 * The including code defines real_t (float or double) and OMT_FN.
 * A matrix is two arrays re, im of k*k entries, row-major, both triangles
 * stored: entry (r, c) is re[r*k + c] + i im[r*k + c]. Only the Hermitian part
 * (A + A^*)/2 is used, so a slightly non-Hermitian input (say, the triangles
 * rounded differently) is well defined, and the imaginary diagonal is ignored.
 *
 * Method: cyclic complex Jacobi rotations. At k <= 8 the extra flops over a
 * tridiagonal QR do not matter, and Jacobi is backward stable with
 * eigenvectors unitary to working precision however the eigenvalues cluster
 * (repeated, zero), with no shifts, deflation or recursion to get right, and
 * with a control flow that hardly depends on the data, which suits SIMT
 * hardware.
 * No include guard on purpose: it is included once per precision. */

/* The largest k. The GPU kernels keep a cell's matrix, eigenvectors and the
 * workspace of omt_herm_nuclear_prox in fixed-size private arrays (no dynamic
 * allocation on a device); their size, OMT_MAX_K^2 reals each, must be a
 * compile-time constant and stay small enough to live in registers or at
 * least in cache. 8 covers the intended uses (2x2/3x3 tensors per cell, small
 * coupled systems). Only the functions with local arrays (prox and norms)
 * depend on it; omt_herm_eig itself works for any k. */
#ifndef OMT_MAX_K
#define OMT_MAX_K 8
#endif

/* Jacobi converges quadratically once the off-diagonal part is small; in
 * practice 5 to 9 sweeps for k <= 8 in double. The cap bounds the work of a
 * pathological input (NaN entries) instead of looping forever. */
#ifndef OMT_HERM_SWEEPS
#define OMT_HERM_SWEEPS 30
#endif

/* Unit roundoff-ish of real_t, without <float.h> (absent from some kernel
 * compilers) and without a double literal (OpenCL devices without fp64). */
#ifndef OMT_HERM_EPS
#define OMT_HERM_EPS (sizeof(real_t) == sizeof(float) ? (real_t)1.1920929e-7f : (real_t)2.220446e-16f)
#endif

/* Eigen-decomposition A = V diag(w) V^* of the Hermitian matrix (re, im).
 * On return w[0..k) holds the eigenvalues in ASCENDING order and, unless vre is
 * a null pointer, column j of V (vre[r*k + j], vim[r*k + j]) is a unit
 * eigenvector for w[j]; V is unitary. re and im are destroyed (workspace).
 * Passing vre = vim = 0 skips the eigenvector accumulation (norms only). */
OMT_FN void omt_herm_eig(int k, real_t* re, real_t* im, real_t* w, real_t* vre, real_t* vim) {
  const real_t eps = OMT_HERM_EPS;
  /* Scale by the largest entry m when it is far from 1: the rotation formulas
   * square entries, which overflows for entries ~1e19 in float (~1e154 in
   * double) and underflows, losing all precision, for tiny ones. Inside
   * [2^-32, 2^32] nothing is scaled, so typical data is not rounded (a diagonal
   * matrix gives its diagonal exactly); outside, dividing (not multiplying by
   * 1/m, which overflows for denormal m) costs one rounding per entry, a
   * backward error of eps ||A||. */
  real_t m = 0;
  for (int i = 0; i < k * k; ++i) {
    m = fabs(re[i]) > m ? fabs(re[i]) : m;
    m = fabs(im[i]) > m ? fabs(im[i]) : m;
  }
  const real_t d = (m > (real_t)4294967296.0f || m < (real_t)2.3283064e-10f) && m > (real_t)0 ? m : (real_t)1;
  real_t total = 0;                                 /* ||A/d||_F^2: rotations keep it */
  for (int r = 0; r < k; ++r) {
    re[r * k + r] = re[r * k + r] / d;
    im[r * k + r] = 0;
    total += re[r * k + r] * re[r * k + r];
    for (int c = r + 1; c < k; ++c) {
      real_t xr = (real_t)0.5 * (re[r * k + c] / d + re[c * k + r] / d);
      real_t xi = (real_t)0.5 * (im[r * k + c] / d - im[c * k + r] / d);
      re[r * k + c] = xr;
      im[r * k + c] = xi;
      re[c * k + r] = xr;
      im[c * k + r] = -xi;
      total += (real_t)2 * (xr * xr + xi * xi);
    }
  }
  if (vre) {
    for (int i = 0; i < k * k; ++i) {
      vre[i] = (i % (k + 1) == 0) ? (real_t)1 : (real_t)0;
      vim[i] = 0;
    }
  }
  /* Pivots below tiny = eps ||A||_F / (2k) are set to zero instead of rotated.
   * Inside a cluster of (nearly) equal eigenvalues the diagonal differences are
   * rounding noise, so a rotation on a pivot at noise level turns by an
   * arbitrary angle (up to 45 degrees) and mixes the still-converging
   * couplings to other clusters back among the cluster's rows: the sweeps then
   * converge only linearly (25 sweeps seen on a -1 x3, 2 x4 spectrum). Zeroing
   * such a pivot is a backward error of at most tiny per entry, well inside the
   * eps ||A|| target. It also bounds tau = (aqq - app) / (2g) by 2k/eps, so
   * tau*tau cannot overflow even in float and a pivot of 0 is never divided by. */
  const real_t tiny = eps * sqrt(total) / (real_t)(2 * k);
  for (int sweep = 0; sweep < OMT_HERM_SWEEPS; ++sweep) {
    /* Relative stopping test: the dropped off-diagonal part E moves each
     * eigenvalue by at most ||E||_2 <= ||E||_F = sqrt(2 off) <= eps/sqrt(2) ||A||_F. */
    real_t off = 0;
    for (int p = 0; p < k; ++p)
      for (int q = p + 1; q < k; ++q) off += re[p * k + q] * re[p * k + q] + im[p * k + q] * im[p * k + q];
    if (!(off > (real_t)0.25 * eps * eps * total)) break;  /* also stops on NaN */
    for (int p = 0; p < k; ++p) {
      for (int q = p + 1; q < k; ++q) {
        const real_t x = re[p * k + q], y = im[p * k + q];
        const real_t g = sqrt(x * x + y * y);
        if (!(g > tiny)) {
          re[p * k + q] = 0;
          im[p * k + q] = 0;
          re[q * k + p] = 0;
          im[q * k + p] = 0;
          continue;
        }
        /* a_pq = g u with |u| = 1. With D = diag(1, conj u), D^* A2 D is the real
         * symmetric [[app, g], [g, aqq]], diagonalised by the classical rotation
         * R = [[c, s], [-s, c]] (Golub & Van Loan, sym.schur2); the complex
         * rotation is J = D R D^* = [[c, s u], [-s conj(u), c]], A <- J^* A J. */
        const real_t ur = x / g, ui = y / g;
        const real_t app = re[p * k + p], aqq = re[q * k + q];
        const real_t tau = (aqq - app) / ((real_t)2 * g);
        /* the smaller root of t^2 + 2 tau t - 1 = 0: rotation angle <= pi/4,
         * needed for convergence, and no cancellation */
        const real_t t = (tau >= (real_t)0 ? (real_t)1 : (real_t)-1) / (fabs(tau) + sqrt((real_t)1 + tau * tau));
        const real_t c = (real_t)1 / sqrt((real_t)1 + t * t);
        const real_t s = t * c;
        re[p * k + p] = app - t * g;
        re[q * k + q] = aqq + t * g;
        re[p * k + q] = 0;
        im[p * k + q] = 0;
        re[q * k + p] = 0;
        im[q * k + p] = 0;
        /* columns p, q of A J for the other rows; rows p, q are their conjugates,
         * written rather than recomputed so A stays exactly Hermitian */
        for (int r = 0; r < k; ++r) {
          if (r == p || r == q) continue;
          const real_t pr = re[r * k + p], pm = im[r * k + p];
          const real_t qr = re[r * k + q], qi = im[r * k + q];
          const real_t nr = c * pr - s * (ur * qr + ui * qi);   /* c a_rp - s conj(u) a_rq */
          const real_t ni = c * pm - s * (ur * qi - ui * qr);
          const real_t mr = s * (ur * pr - ui * pm) + c * qr;   /* s u a_rp + c a_rq */
          const real_t mi = s * (ur * pm + ui * pr) + c * qi;
          re[r * k + p] = nr;
          im[r * k + p] = ni;
          re[p * k + r] = nr;
          im[p * k + r] = -ni;
          re[r * k + q] = mr;
          im[r * k + q] = mi;
          re[q * k + r] = mr;
          im[q * k + r] = -mi;
        }
        if (vre) {
          for (int r = 0; r < k; ++r) {  /* V <- V J */
            const real_t pr = vre[r * k + p], pm = vim[r * k + p];
            const real_t qr = vre[r * k + q], qi = vim[r * k + q];
            vre[r * k + p] = c * pr - s * (ur * qr + ui * qi);
            vim[r * k + p] = c * pm - s * (ur * qi - ui * qr);
            vre[r * k + q] = s * (ur * pr - ui * pm) + c * qr;
            vim[r * k + q] = s * (ur * pm + ui * pr) + c * qi;
          }
        }
      }
    }
  }
  for (int j = 0; j < k; ++j) w[j] = re[j * k + j] * d;
  /* Selection sort, ascending (numpy.linalg.eigh's order): deterministic
   * output and the extreme eigenvalues at known places. */
  for (int j = 0; j < k; ++j) {
    int lo = j;
    for (int i = j + 1; i < k; ++i) lo = w[i] < w[lo] ? i : lo;
    if (lo == j) continue;
    const real_t tw = w[j];
    w[j] = w[lo];
    w[lo] = tw;
    if (vre) {
      for (int r = 0; r < k; ++r) {
        const real_t tr = vre[r * k + j], ti = vim[r * k + j];
        vre[r * k + j] = vre[r * k + lo];
        vim[r * k + j] = vim[r * k + lo];
        vre[r * k + lo] = tr;
        vim[r * k + lo] = ti;
      }
    }
  }
}

/* In place X <- V diag(soft(w, t)) V^*, soft(x, t) = sign(x) max(|x| - t, 0):
 * the proximal map of t * (nuclear norm) on Hermitian matrices (it acts on the
 * eigenvalues because the nuclear norm is unitarily invariant).
 * The result is exactly Hermitian: one triangle is computed, the other is its
 * conjugate, and the imaginary diagonal is exactly 0. Requires 1 <= k <= OMT_MAX_K
 * (otherwise X is left unchanged). */
OMT_FN void omt_herm_nuclear_prox(int k, real_t* re, real_t* im, real_t t) {
  if (k < 1 || k > OMT_MAX_K) return;
  real_t w[OMT_MAX_K];
  real_t vre[OMT_MAX_K * OMT_MAX_K];
  real_t vim[OMT_MAX_K * OMT_MAX_K];
  omt_herm_eig(k, re, im, w, vre, vim);
  for (int j = 0; j < k; ++j) {  /* soft threshold as w minus its clamp to [-t, t] */
    real_t cl = w[j] < -t ? -t : w[j];
    cl = cl > t ? t : cl;
    w[j] = w[j] - cl;
  }
  for (int r = 0; r < k; ++r) {
    for (int c = r; c < k; ++c) {
      real_t sr = 0, si = 0;  /* sum_j w_j V_rj conj(V_cj) */
      for (int j = 0; j < k; ++j) {
        const real_t ar = vre[r * k + j], ai = vim[r * k + j];
        const real_t br = vre[c * k + j], bi = vim[c * k + j];
        sr += w[j] * (ar * br + ai * bi);
        si += w[j] * (ai * br - ar * bi);
      }
      si = r == c ? (real_t)0 : si;
      re[r * k + c] = sr;
      im[r * k + c] = si;
      re[c * k + r] = sr;
      im[c * k + r] = -si;
    }
  }
}

/* Eigenvalues of a copy (the input is const); eigenvectors are not formed. */
OMT_FN void omt_herm_eigvals_copy(int k, const real_t* re, const real_t* im, real_t* w) {
  real_t are[OMT_MAX_K * OMT_MAX_K];
  real_t aim[OMT_MAX_K * OMT_MAX_K];
  for (int i = 0; i < k * k; ++i) {
    are[i] = re[i];
    aim[i] = im[i];
  }
  omt_herm_eig(k, are, aim, w, (real_t*)0, (real_t*)0);
}

/* Sum of |eigenvalues| (the nuclear / trace norm). Input unchanged.
 * Requires 1 <= k <= OMT_MAX_K; returns -1 (no norm's value) otherwise. */
OMT_FN real_t omt_herm_nuclear_norm(int k, const real_t* re, const real_t* im) {
  if (k < 1 || k > OMT_MAX_K) return (real_t)-1;
  real_t w[OMT_MAX_K];
  omt_herm_eigvals_copy(k, re, im, w);
  real_t n = 0;
  for (int j = 0; j < k; ++j) n += fabs(w[j]);
  return n;
}

/* Largest |eigenvalue| (the spectral / operator 2-norm). Input unchanged.
 * Requires 1 <= k <= OMT_MAX_K; returns -1 otherwise. */
OMT_FN real_t omt_herm_op_norm(int k, const real_t* re, const real_t* im) {
  if (k < 1 || k > OMT_MAX_K) return (real_t)-1;
  real_t w[OMT_MAX_K];
  omt_herm_eigvals_copy(k, re, im, w);
  /* ascending order: the extremes are the ends */
  return fabs(w[0]) > fabs(w[k - 1]) ? fabs(w[0]) : fabs(w[k - 1]);
}

"""A numpy model of omtcore's loop (Poisson-preconditioned PDHG with the
adaptive primal weight; optionally Halpern restarts and their reflection) to
compare the iteration counts of loop variants before building one into the
kernels. Scalar 2D problems, h = 1; it stops when the residual and the gap
between the cost of the iterate and the scaled dual bound are both within
tol (not a certificate: a yardstick for variants only).

    python benchmarks/loop_variants.py 64 iso      # or: 64 aniso
"""
import sys
import numpy as np
from scipy.fft import dctn, idctn


def grad(phi):
    g = np.zeros((2,) + phi.shape)
    g[0, :-1] = phi[1:] - phi[:-1]
    g[1, :, :-1] = phi[:, 1:] - phi[:, :-1]
    return g


def div(F):
    d = F[0].copy()
    d[1:] -= F[0, :-1]
    d += F[1]
    d[:, 1:] -= F[1, :, :-1]
    return d


def poisson_inv(r, eig):
    c = dctn(r, type=2, norm="ortho")
    c = np.where(eig > 0, c / np.where(eig > 0, eig, 1), 0)
    return idctn(c, type=2, norm="ortho")


def prox(w, t, iso):
    if iso:
        nrm = np.sqrt((w ** 2).sum(0))
        return w * np.maximum(0, 1 - t / np.maximum(nrm, 1e-300))
    return np.sign(w) * np.maximum(np.abs(w) - t, 0)


def solve(a, b, iso, halpern, rho, tol=1e-4, max_iter=20000, check=25, weight_every=50, wrange=None,
          restart_decay=0.2, restart_share=0.36):
    n0, n1 = a.shape
    k0 = np.arange(n0)[:, None]
    k1 = np.arange(n1)[None, :]
    eig = (2 - 2 * np.cos(np.pi * k0 / n0)) + (2 - 2 * np.cos(np.pi * k1 / n1))
    net = a - b
    s = np.abs(net).sum() / (net ** 2).sum()
    rhs = s * net
    mass = a.sum()
    act = np.ones((2, n0, n1))
    act[0, -1] = 0
    act[1, :, -1] = 0
    v = np.zeros((2, n0, n1))
    phi = np.zeros((n0, n1))
    w_ = 1.0
    if wrange is None:
        wrange = (0.01, 10) if not iso else (0.01, 100)
    sp = 0.99
    mu, tau = np.sqrt(sp), np.sqrt(sp)
    v0, phi0 = v.copy(), phi.copy()
    vr, phir = v.copy(), phi.copy()
    epoch = 0
    rres = np.inf
    for it in range(1, max_iter + 1):
        lam = (epoch + 1) / (epoch + 2) if halpern else 1.0
        epoch += 1
        w = act * prox(v + mu * grad(phi), mu, iso)
        vbar = 2 * w - v
        tphi = phi + tau * poisson_inv(div(vbar) - rhs, eig)
        if halpern:
            v = lam * ((1 + rho) * w - rho * v) + (1 - lam) * vr
            phi = lam * ((1 + rho) * tphi - rho * phi) + (1 - lam) * phir
        else:
            v, phi = w, tphi
        if it % weight_every == 0:
            dx2 = ((v - v0) ** 2).sum()
            dy2 = (grad(phi - phi0) ** 2 * act).sum()
            if dx2 > 0 and dy2 > 0:
                lw = np.log(w_)
                w_ = np.exp(0.5 * 0.5 * np.log(dy2 / dx2) + 0.5 * lw)
                w_ = min(max(w_, wrange[0]), wrange[1])
                mu, tau = np.sqrt(sp) / w_, np.sqrt(sp) * w_
            v0, phi0 = v.copy(), phi.copy()
        if it % check == 0:
            res = np.abs(div(v) - rhs).sum() / (s * mass)
            if halpern and (res <= restart_decay * rres or epoch >= max(50, restart_share * it)):
                vr, phir = v.copy(), phi.copy()
                epoch = 0
                rres = res
            if res <= tol:
                g = grad(phi)
                ratio = np.sqrt((g ** 2).sum(0)).max() if iso else np.abs(g).max()
                lb = abs((phi * rhs).sum()) / max(ratio, 1e-300) / s
                cost = (np.sqrt((v ** 2).sum(0)).sum() if iso else np.abs(v).sum()) / s
                if cost > 0 and abs(cost - lb) / cost <= tol:
                    return it, cost
    return max_iter, None


def cases(n, rng):
    y, x = np.mgrid[:n, :n] / n

    def bump(cy, cx, r):
        return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))

    out = {}
    out["blobs"] = (bump(.3, .3, .08), bump(.7, .55, .06) + .6 * bump(.35, .75, .05))
    a = np.zeros((n, n)); a[n // 4, n // 4] = 1
    b = np.zeros((n, n)); b[3 * n // 4, n // 2] = 1
    out["points"] = (a, b)
    out["noise"] = (rng.random((n, n)), rng.random((n, n)))
    from scipy.ndimage import gaussian_filter
    out["photo-like"] = (np.exp(gaussian_filter(rng.normal(size=(n, n)), n / 16) * 8),
                         np.exp(gaussian_filter(rng.normal(size=(n, n)), n / 16) * 8))
    blk = np.zeros((n, n)); blk[n // 8:n // 4, n // 8:n // 4] = 1
    out["shift"] = (blk, np.roll(blk, n // 2, axis=1))
    for k, (a, b) in out.items():
        a = a / a.sum(); b = b / b.sum()
        out[k] = (a, b)
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    norm = sys.argv[2] if len(sys.argv) > 2 else "iso"
    rng = np.random.default_rng(0)
    variants = {"pdhg+weight": (False, 0), "halpern": (True, 0.0), "refl 0.5": (True, 0.5), "refl 1": (True, 1.0)}
    print(f"{n}², {'isotropic' if norm == 'iso' else 'anisotropic'}; iterations of:", " | ".join(variants))
    for name, (a, b) in cases(n, rng).items():
        row = []
        for v, (h, rho) in variants.items():
            it, cost = solve(a, b, norm == "iso", h, rho)
            row.append(f"{it}")
        print(f"{name:12s}", " ".join(f"{r:>8s}" for r in row), flush=True)

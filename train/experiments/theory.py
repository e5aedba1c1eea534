"""The homework's optimisation results as runnable checks.

Min-norm SGD, RMSProp/Adam, the optimal step, weight decay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Result:
    """One homework claim, the numbers measured for it, the tolerance, and whether they agree."""

    key: str
    claim: str
    measured: tuple[tuple[str, float], ...]
    tolerance: str
    passed: bool

    def as_dict(self) -> dict:
        """Plain JSON-ready dict: measured numbers keyed by name."""
        return {
            "key": self.key,
            "claim": self.claim,
            "measured": dict(self.measured),
            "tolerance": self.tolerance,
            "passed": self.passed,
        }


# ---------------------------------------------------------------- 1. min-norm SGD


@dataclass(frozen=True)
class SgdRun:
    """Final iterate of mini-batch SGD and the largest row-space leak seen along the way."""

    w: np.ndarray
    max_off_row_space: float


def overparameterised_problem(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random X (n x d, rows of norm about 1) and t (n), float64, d > n."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) / np.sqrt(d), rng.standard_normal(n)


def minibatch_sgd(
    X: np.ndarray, t: np.ndarray, batch_size: int, lr: float, epochs: int, seed: int
) -> SgdRun:
    """w <- w - lr * X_Bᵀ(X_B w - t_B)/|B| from w = 0 (loss ½·mean (xᵀw - t)²), shuffled epochs."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    # I - X⁺X projects onto the null space of X, i.e. off the row space.
    off_row = np.eye(d) - np.linalg.pinv(X) @ X
    w, leak = np.zeros(d), 0.0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            Xb = X[idx]
            w = w - lr * Xb.T @ (Xb @ w - t[idx]) / len(idx)
            leak = max(leak, float(np.linalg.norm(off_row @ w)))
    return SgdRun(w=w, max_off_row_space=leak)


def check_min_norm_sgd(
    n: int = 10, d: int = 50, seeds=(0, 1, 2), batch_sizes=(1, 3, 10), epochs: int = 1500
) -> Result:
    """SGD from 0 reaches pinv(X)·t (distance < 1e-6) and never leaves the row space (< 1e-10)."""
    worst_dist, worst_leak, worst_resid = 0.0, 0.0, 0.0
    for seed in seeds:
        X, t = overparameterised_problem(n, d, seed)
        w_star = np.linalg.pinv(X) @ t
        # Batch Hessians X_BᵀX_B/|B| have top eigenvalue <= max ‖x_i‖², so this lr is stable.
        lr = 1.0 / float(np.max(np.sum(X * X, axis=1)))
        for b in batch_sizes:
            run = minibatch_sgd(X, t, b, lr, epochs, seed)
            worst_dist = max(worst_dist, float(np.linalg.norm(run.w - w_star)))
            worst_leak = max(worst_leak, run.max_off_row_space)
            worst_resid = max(worst_resid, float(np.linalg.norm(X @ run.w - t)))
    return Result(
        key="min_norm_sgd",
        claim=f"mini-batch SGD from w=0 on X ({n}x{d}, d>n) converges to pinv(X)·t "
        "and every iterate stays in the row space of X",
        measured=(
            ("runs", float(len(seeds) * len(batch_sizes))),
            ("max ‖w − pinv(X)t‖", worst_dist),
            ("max ‖Xw − t‖", worst_resid),
            ("max ‖(I − X⁺X)w_k‖ over iterates", worst_leak),
        ),
        tolerance="distance < 1e-6, row-space leak < 1e-10",
        passed=worst_dist < 1e-6 and worst_leak < 1e-10,
    )


# ---------------------------------------------------------------- 2. RMSProp / Adam

HINT_X = np.array([2.0, 1.0])
HINT_T = 2.0


def _hint_grad(w: np.ndarray) -> np.ndarray:
    """∇ of ½(x₁ᵀw − t)² (the loss convention; RMSProp/Adam are scale-invariant up to eps)."""
    return HINT_X * (HINT_X @ w - HINT_T)


def rmsprop(
    lr: float = 0.01, beta: float = 0.9, eps: float = 1e-8, steps: int = 2000
) -> np.ndarray:
    """v <- βv + (1-β)g², w <- w - lr·g/(√v + eps), from w = 0 on the hint's problem."""
    w, v = np.zeros(2), np.zeros(2)
    for _ in range(steps):
        g = _hint_grad(w)
        v = beta * v + (1 - beta) * g * g
        w = w - lr * g / (np.sqrt(v) + eps)
    return w


def adam(
    lr: float = 0.01, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, steps: int = 2000
) -> np.ndarray:
    """Adam with bias correction: w <- w - lr·m̂/(√v̂ + eps), from w = 0 on the hint's problem."""
    w, m, v = np.zeros(2), np.zeros(2), np.zeros(2)
    for k in range(1, steps + 1):
        g = _hint_grad(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w - lr * (m / (1 - beta1**k)) / (np.sqrt(v / (1 - beta2**k)) + eps)
    return w


def torch_rmsprop(lr: float = 0.01, alpha: float = 0.9, eps: float = 1e-8, steps: int = 2000):
    """The same run through torch.optim.RMSprop (alpha is β) in float64: an independent route."""
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(HINT_X)
    opt = torch.optim.RMSprop([w], lr=lr, alpha=alpha, eps=eps)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (x @ w - HINT_T) ** 2).backward()
        opt.step()
    return w.detach().numpy()


def check_rmsprop(steps: int = 2000) -> Result:
    """RMSProp and Adam end at [2/3, 2/3] (norm 0.943), not the min-norm [0.8, 0.4] (norm 0.894)."""
    w_rms, w_adam, w_torch = rmsprop(steps=steps), adam(steps=steps), torch_rmsprop(steps=steps)
    w_min = np.linalg.pinv(HINT_X[None, :]) @ np.array([HINT_T])
    target = np.full(2, 2.0 / 3.0)
    err = max(float(np.max(np.abs(w - target))) for w in (w_rms, w_adam, w_torch))
    passed = err < 1e-3 and float(np.linalg.norm(w_rms - w_min)) > 0.1
    return Result(
        key="rmsprop_not_min_norm",
        claim="RMSProp/Adam on x₁=[2,1], t=[2], w₀=0, lr 0.01, β 0.9, eps 1e-8 "
        "reach ≈[2/3, 2/3], not the min-norm [0.8, 0.4] (loss ½(x₁ᵀw − t)²)",
        measured=(
            ("RMSProp w₁", float(w_rms[0])),
            ("RMSProp w₂", float(w_rms[1])),
            ("RMSProp ‖w‖", float(np.linalg.norm(w_rms))),
            ("Adam w₁", float(w_adam[0])),
            ("Adam w₂", float(w_adam[1])),
            ("Adam ‖w‖", float(np.linalg.norm(w_adam))),
            ("torch RMSprop w₁", float(w_torch[0])),
            ("torch RMSprop w₂", float(w_torch[1])),
            ("min-norm w₁", float(w_min[0])),
            ("min-norm w₂", float(w_min[1])),
            ("min-norm ‖w‖", float(np.linalg.norm(w_min))),
        ),
        tolerance=f"each w within 1e-3 of [2/3, 2/3] (worst {err:.1e}); ‖w − w_min‖ > 0.1",
        passed=passed,
    )


# ---------------------------------------------------------------- 3. optimal step


def optimal_step(X: np.ndarray, t: np.ndarray, w0: np.ndarray) -> float:
    """η* = (n/2)·‖Xᵀa‖² / ‖XXᵀa‖², a = Xw₀ − t, for L = (1/n)‖Xw − t‖²."""
    n = X.shape[0]
    a = X @ w0 - t
    return n / 2 * float(np.sum((X.T @ a) ** 2)) / float(np.sum((X @ X.T @ a) ** 2))


def loss_after_step(X: np.ndarray, t: np.ndarray, w0: np.ndarray, eta: float) -> float:
    """L₁(η) = (1/n)‖X(w₀ − η∇L(w₀)) − t‖² with ∇L = (2/n)Xᵀ(Xw₀ − t)."""
    n = X.shape[0]
    w1 = w0 - eta * (2 / n) * X.T @ (X @ w0 - t)
    return float(np.sum((X @ w1 - t) ** 2)) / n


def line_search(f, lo: float, hi: float, tol: float = 1e-12) -> float:
    """Golden-section minimiser of a unimodal f on [lo, hi]."""
    inv_phi = (np.sqrt(5) - 1) / 2
    a, b = lo, hi
    while b - a > tol * max(1.0, abs(b)):
        c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
        if f(c) < f(d):
            b = d
        else:
            a = c
    return float(a + b) / 2


def hypergradient(X: np.ndarray, t: np.ndarray, w0: np.ndarray, eta: float) -> float:
    """dL₁/dη at η by autograd through one GD step (float64)."""
    Xt, tt, w = (torch.tensor(v) for v in (X, t, w0))
    w = w.clone().requires_grad_(True)
    eta_t = torch.tensor(eta, dtype=torch.float64, requires_grad=True)
    loss0 = torch.mean((Xt @ w - tt) ** 2)
    (grad,) = torch.autograd.grad(loss0, w, create_graph=True)
    loss1 = torch.mean((Xt @ (w - eta_t * grad) - tt) ** 2)
    (d_eta,) = torch.autograd.grad(loss1, eta_t)
    return float(d_eta)


def check_optimal_step(n: int = 8, d: int = 5, seed: int = 0) -> Result:
    """Closed-form η* agrees with a golden-section line search and zeroes autograd's dL₁/dη."""
    rng = np.random.default_rng(seed)
    X, t, w0 = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
    eta = optimal_step(X, t, w0)
    searched = line_search(lambda e: loss_after_step(X, t, w0, e), 0.0, 4 * eta)
    # Scale the hypergradient by its value at η = 0 so the test is relative.
    g0, g_star = hypergradient(X, t, w0, 0.0), hypergradient(X, t, w0, eta)
    rel_gap, rel_grad = abs(searched - eta) / eta, abs(g_star / g0)
    return Result(
        key="optimal_step",
        claim="η* = (n/2)·‖Xᵀa‖²/‖XXᵀa‖² (a = Xw₀ − t) minimises L₁(η) for L = (1/n)‖Xw − t‖²",
        measured=(
            ("η* closed form", eta),
            ("η line search", searched),
            ("|η_search − η*|/η*", rel_gap),
            ("dL₁/dη at 0", g0),
            ("dL₁/dη at η*", g_star),
            ("L₁(η*)", loss_after_step(X, t, w0, eta)),
            ("L₀", loss_after_step(X, t, w0, 0.0)),
        ),
        tolerance="relative gap < 1e-6; |dL₁/dη(η*)| < 1e-10·|dL₁/dη(0)|",
        passed=rel_gap < 1e-6 and rel_grad < 1e-10,
    )


# ---------------------------------------------------------------- 4. weight decay vs L2


def _regression(seed: int, n: int = 16, d: int = 6):
    """A float64 least-squares problem for the weight-decay comparisons."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    return (
        X,
        torch.randn(n, generator=g, dtype=torch.float64),
        torch.randn(d, generator=g, dtype=torch.float64),
    )


def _grad(X: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """∇J for J = (1/n)‖Xw − t‖²."""
    return 2 / X.shape[0] * X.T @ (X @ w - t)


def sgd_decay(X, t, w0, lr: float, lam: float, steps: int) -> torch.Tensor:
    """Weight decay: w <- (1 − λ)w − η∇J(w)."""
    w = w0.clone()
    for _ in range(steps):
        w = (1 - lam) * w - lr * _grad(X, t, w)
    return w


def sgd_l2(X, t, w0, lr: float, lam_tilde: float, steps: int) -> torch.Tensor:
    """GD on J + λ̃‖w‖²: w <- w − η(∇J(w) + 2λ̃w)."""
    w = w0.clone()
    for _ in range(steps):
        w = w - lr * (_grad(X, t, w) + 2 * lam_tilde * w)
    return w


def torch_adam(X, t, w0, lr: float, weight_decay: float, steps: int, decoupled: bool):
    """torch.optim.Adam (L2: adds wd·w to ∇J, i.e. λ̃ = wd/2) or AdamW (decay λ = lr·wd)."""
    w = w0.clone().requires_grad_(True)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([w], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        torch.mean((X @ w - t) ** 2).backward()
        opt.step()
    return w.detach()


def check_weight_decay(lr: float = 0.05, lam: float = 0.01, steps: int = 200) -> Result:
    """SGD: decay λ ≡ L2 at λ̃ = λ/(2η) after 1 and many steps; Adam + L2 ≠ AdamW (gap > 1e-3)."""
    X, t, w0 = _regression(seed=0)
    lam_tilde = lam / (2 * lr)

    def gap(a, b):
        return float(torch.max(torch.abs(a - b)))

    sgd1 = gap(sgd_decay(X, t, w0, lr, lam, 1), sgd_l2(X, t, w0, lr, lam_tilde, 1))
    sgdk = gap(sgd_decay(X, t, w0, lr, lam, steps), sgd_l2(X, t, w0, lr, lam_tilde, steps))
    # Adam(weight_decay=wd) is L2 with λ̃ = wd/2; AdamW(wd) decays by λ = lr·wd:
    # the same wd gives λ̃ = λ/(2η).
    wd = 2 * lam_tilde
    adam1 = gap(torch_adam(X, t, w0, lr, wd, 1, False), torch_adam(X, t, w0, lr, wd, 1, True))
    adamk = gap(
        torch_adam(X, t, w0, lr, wd, steps, False), torch_adam(X, t, w0, lr, wd, steps, True)
    )
    return Result(
        key="weight_decay_vs_l2",
        claim=f"weight decay λ equals L2 with λ̃ = λ/(2η) for SGD (η={lr}, λ={lam}), "
        "but not under Adam (Adam + L2 ≠ AdamW)",
        measured=(
            ("SGD max |Δw| after 1 step", sgd1),
            (f"SGD max |Δw| after {steps} steps", sgdk),
            ("Adam+L2 vs AdamW max |Δw| after 1 step", adam1),
            (f"Adam+L2 vs AdamW max |Δw| after {steps} steps", adamk),
        ),
        tolerance="SGD gaps < 1e-12; Adam gap after many steps > 1e-3",
        passed=sgd1 < 1e-12 and sgdk < 1e-12 and adamk > 1e-3,
    )


def run_all() -> list[Result]:
    """All four optimisation checks, in the homework's order."""
    return [check_min_norm_sgd(), check_rmsprop(), check_optimal_step(), check_weight_decay()]

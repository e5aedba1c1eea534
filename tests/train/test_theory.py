"""Items 1–4 of the homework's optimisation theory, each against an independent route."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from train.experiments import theory

# ---------------------------------------------------------------- 1. min-norm SGD


@pytest.mark.parametrize("batch_size", [1, 4, 10])
def test_sgd_from_zero_reaches_min_norm_solution(batch_size):
    X, t = theory.overparameterised_problem(n=10, d=40, seed=3)
    # Independent route to X⁺t: the normal-equations form Xᵀ(XXᵀ)⁻¹t, not pinv.
    w_min = X.T @ np.linalg.solve(X @ X.T, t)
    lr = 1.0 / np.max(np.sum(X * X, axis=1))
    run = theory.minibatch_sgd(X, t, batch_size, lr, epochs=1500, seed=0)
    assert np.linalg.norm(run.w - w_min) < 1e-6
    assert run.max_off_row_space < 1e-10


def test_sgd_from_nonzero_start_keeps_its_null_space_part():
    # The claim needs w0 = 0: from w0 the null-space component of w0 survives forever.
    X, t = theory.overparameterised_problem(n=5, d=12, seed=1)
    null = np.linalg.svd(X)[2][-1]  # a unit vector with X·null = 0
    w_min = np.linalg.pinv(X) @ t
    lr = 1.0 / np.max(np.sum(X * X, axis=1))
    w = 0.5 * null
    for _ in range(3000):
        w = w - lr * X.T @ (X @ w - t) / len(t)
    np.testing.assert_allclose(w - w_min, 0.5 * null, atol=1e-8)


def test_min_norm_check_passes_and_reports_numbers():
    result = theory.check_min_norm_sgd()
    measured = dict(result.measured)
    assert result.passed
    assert measured["runs"] == 9
    assert measured["max ‖w − pinv(X)t‖"] < 1e-6


# ---------------------------------------------------------------- 2. RMSProp / Adam


def test_rmsprop_reaches_two_thirds_not_min_norm():
    w = theory.rmsprop()
    np.testing.assert_allclose(w, [2 / 3, 2 / 3], atol=1e-3)
    assert abs(np.linalg.norm(w) - 0.943) < 1e-3
    # The homework's min-norm numbers by hand: x t / ‖x‖² = [2,1]·2/5.
    assert np.linalg.norm(w - np.array([0.8, 0.4])) > 0.1


def test_adam_reaches_two_thirds():
    np.testing.assert_allclose(theory.adam(), [2 / 3, 2 / 3], atol=1e-3)


def test_explicit_rmsprop_matches_torch_optim():
    np.testing.assert_allclose(theory.rmsprop(steps=50), theory.torch_rmsprop(steps=50), atol=1e-12)


def test_explicit_adam_matches_torch_optim_first_steps():
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    x = torch.tensor([2.0, 1.0], dtype=torch.float64)
    for _ in range(50):
        opt.zero_grad()
        (0.5 * (x @ w - 2.0) ** 2).backward()
        opt.step()
    np.testing.assert_allclose(theory.adam(steps=50), w.detach().numpy(), atol=1e-12)


def test_rmsprop_first_step_is_lr_over_sqrt_one_minus_beta():
    # By hand: v1 = 0.1 g², so each coordinate moves lr/√0.1 = 0.0316 regardless of g.
    np.testing.assert_allclose(theory.rmsprop(steps=1), [0.01 / np.sqrt(0.1)] * 2, rtol=1e-6)


# ---------------------------------------------------------------- 3. optimal step


def test_optimal_step_by_hand_on_one_dimensional_problem():
    # X = [[2]], t = [1], w0 = 0: a = -1, Xᵀa = -2, XXᵀa = -4, n = 1 ⇒ η* = ½·4/16 = 1/8,
    # and then w1 = 0 - (1/8)·2·2·(-1) = 1/2 = t/X exactly.
    X, t, w0 = np.array([[2.0]]), np.array([1.0]), np.zeros(1)
    assert theory.optimal_step(X, t, w0) == pytest.approx(0.125, rel=1e-15)
    assert theory.loss_after_step(X, t, w0, 0.125) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimal_step_agrees_with_line_search_and_hypergradient(seed):
    rng = np.random.default_rng(seed)
    X, t, w0 = rng.standard_normal((7, 4)), rng.standard_normal(7), rng.standard_normal(4)
    eta = theory.optimal_step(X, t, w0)
    searched = theory.line_search(lambda e: theory.loss_after_step(X, t, w0, e), 0.0, 5 * eta)
    assert searched == pytest.approx(eta, rel=1e-6)
    g0 = theory.hypergradient(X, t, w0, 0.0)
    assert abs(theory.hypergradient(X, t, w0, eta)) < 1e-10 * abs(g0)
    # L₁ is a convex quadratic in η: slope negative before η*, positive after.
    assert theory.hypergradient(X, t, w0, 0.9 * eta) < 0 < theory.hypergradient(X, t, w0, 1.1 * eta)


def test_hypergradient_matches_finite_difference():
    rng = np.random.default_rng(5)
    X, t, w0 = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)
    h, eta = 1e-6, 0.05
    fd = (theory.loss_after_step(X, t, w0, eta + h) - theory.loss_after_step(X, t, w0, eta - h)) / (
        2 * h
    )
    assert theory.hypergradient(X, t, w0, eta) == pytest.approx(fd, rel=1e-6)


# ---------------------------------------------------------------- 4. weight decay vs L2


@pytest.mark.parametrize("steps", [1, 100])
def test_sgd_weight_decay_equals_l2_at_lambda_over_two_eta(steps):
    X, t, w0 = theory._regression(seed=1)
    lr, lam = 0.03, 0.02
    decayed = theory.sgd_decay(X, t, w0, lr, lam, steps)
    assert (
        torch.max(torch.abs(decayed - theory.sgd_l2(X, t, w0, lr, lam / (2 * lr), steps))) < 1e-12
    )
    # Independent route: torch.optim.SGD adds wd·w to the gradient, i.e. L2 with λ̃ = wd/2.
    w = w0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w], lr=lr, weight_decay=lam / lr)
    for _ in range(steps):
        opt.zero_grad()
        torch.mean((X @ w - t) ** 2).backward()
        opt.step()
    assert torch.max(torch.abs(decayed - w.detach())) < 1e-12


def test_l2_at_wrong_lambda_differs():
    # Guard that the equality above is not vacuous: λ̃ = λ/η (off by 2) is visibly different.
    X, t, w0 = theory._regression(seed=1)
    a = theory.sgd_decay(X, t, w0, 0.03, 0.02, 10)
    b = theory.sgd_l2(X, t, w0, 0.03, 0.02 / 0.03, 10)
    assert torch.max(torch.abs(a - b)) > 1e-3


def test_adam_l2_is_not_adamw():
    X, t, w0 = theory._regression(seed=0)
    l2 = theory.torch_adam(X, t, w0, lr=0.05, weight_decay=0.2, steps=100, decoupled=False)
    decoupled = theory.torch_adam(X, t, w0, lr=0.05, weight_decay=0.2, steps=100, decoupled=True)
    assert torch.max(torch.abs(l2 - decoupled)) > 1e-3
    # With wd = 0 both are plain Adam: the gap comes from where the decay enters.
    plain = theory.torch_adam(X, t, w0, lr=0.05, weight_decay=0.0, steps=100, decoupled=False)
    plain_w = theory.torch_adam(X, t, w0, lr=0.05, weight_decay=0.0, steps=100, decoupled=True)
    assert torch.max(torch.abs(plain - plain_w)) < 1e-12


def test_run_all_passes_and_serialises():
    results = theory.run_all()
    assert [r.key for r in results] == [
        "min_norm_sgd",
        "rmsprop_not_min_norm",
        "optimal_step",
        "weight_decay_vs_l2",
    ]
    assert all(r.passed for r in results)
    for r in results:
        d = r.as_dict()
        assert all(isinstance(v, float) for v in d["measured"].values())


# ---------------------------------------------------------------- the `theory` command


def test_theory_json_reports_every_result(cli):
    result = CliRunner().invoke(cli, ["theory", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["passed"] for r in report] == [True] * 4
    rms = report[1]["measured"]
    assert rms["RMSProp ‖w‖"] == pytest.approx(0.943, abs=1e-3)
    assert rms["min-norm ‖w‖"] == pytest.approx(0.894, abs=1e-3)


def test_theory_table_marks_failures_and_exits_1(cli, monkeypatch):
    bad = theory.Result("k", "a claim that fails", (("x", 1.0),), "x < 0", passed=False)
    good = theory.Result("g", "a claim that holds", (("y", 0.0),), "y = 0", passed=True)
    monkeypatch.setattr(theory, "run_all", lambda: [good, bad])
    result = CliRunner().invoke(cli, ["theory"])
    assert result.exit_code == 1
    assert "✓" in result.stdout and "✗" in result.stdout and "a claim that fails" in result.stdout

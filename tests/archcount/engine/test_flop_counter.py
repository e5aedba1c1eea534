"""Every op FlopCounterMode has a formula for: our forward rule agrees (its FLOPs = 2 × our
MACs), and where it counts a backward, our backward rule agrees (half its backward FLOPs)."""

from math import prod

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from archcount.engine.rules import BACKWARD_RULES, OP_RULES
from archcount.engine.rules.registry import Taps, named_args

aten = torch.ops.aten
N, H, L, S, D, DV = 2, 3, 5, 7, 4, 6  # attention: batch, heads, lengths, head dims
# FlopCounterMode reads the (N, L, H, d) tensors of _flash/_efficient_attention_* as
# (N, H, L, d): they are compared at S = H (and L a multiple of S), where both readings agree.
L2, S2 = 2 * H, H


def _t(*shape, device="meta", grad=False):
    return torch.randn(shape, device=device, requires_grad=grad)


def _qkv(heads_first=True):
    if heads_first:
        return _t(N, H, L, D), _t(N, H, S, D), _t(N, H, S, DV)
    return _t(N, L2, H, D), _t(N, S2, H, D), _t(N, S2, H, DV)


def _conv(transposed=False):
    x = _t(2, 4, 7, 6)
    w = _t(4, 3, 3, 2) if transposed else _t(6, 4, 3, 2)
    return x, w, None, [2, 1], [1, 0], [1, 2], transposed, [0, 0], 1


def _attention_backward(op, bias, *rest, heads_first=True, lse=(N, H, L)):
    """op(grad_out, q, k, v, *bias, out, logsumexp, *rest)."""
    q, k, v = _qkv(heads_first)
    out = _t(N, H, L, DV) if heads_first else _t(N, L2, H, DV)
    return getattr(aten, op)(out, q, k, v, *bias, out, _t(*lse), *rest)


def _scalar():
    return torch.empty((), device="meta")


# op -> a call on small meta tensors (the kernels of other devices have meta kernels too)
FORWARD = {
    "mm": lambda: aten.mm(_t(3, 4), _t(4, 5)),
    "bmm": lambda: aten.bmm(_t(2, 3, 4), _t(2, 4, 5)),
    "addmm": lambda: aten.addmm(_t(5), _t(3, 4), _t(4, 5)),
    "baddbmm": lambda: aten.baddbmm(_t(2, 3, 5), _t(2, 3, 4), _t(2, 4, 5)),
    "convolution": lambda: aten.convolution(*_conv()),
    "convolution transposed": lambda: aten.convolution(*_conv(transposed=True)),
    "_convolution": lambda: aten._convolution(*_conv(), False, False, True, True),
    "convolution_backward": lambda: aten.convolution_backward(
        _t(2, 6, 4, 3), *_conv()[:2], [6], *_conv()[3:], [True, True, False]
    ),
    "_scaled_dot_product_flash_attention": lambda: aten._scaled_dot_product_flash_attention(
        *_qkv()[:2], _t(N, H, S, D)
    ),
    "_scaled_dot_product_efficient_attention": (
        lambda: aten._scaled_dot_product_efficient_attention(*_qkv(), None, False)
    ),
    "_scaled_dot_product_cudnn_attention": (
        lambda: aten._scaled_dot_product_cudnn_attention(*_qkv(), None, False)
    ),
    "_efficient_attention_forward": lambda: aten._efficient_attention_forward(
        *_qkv(heads_first=False), None, None, None, L2, S2, 0.0, 0
    ),
    "_flash_attention_forward": lambda: aten._flash_attention_forward(
        *_qkv(heads_first=False)[:2], _t(N, S2, H, D), None, None, L2, S2, 0.0, False, False
    ),
    "_scaled_dot_product_efficient_attention_backward": lambda: _attention_backward(
        "_scaled_dot_product_efficient_attention_backward",
        *([None], _t(2), _t(2), 0.0, [True] * 4),
    ),
    "_scaled_dot_product_flash_attention_backward": lambda: _attention_backward(
        "_scaled_dot_product_flash_attention_backward",
        *([], None, None, L, S, 0.0, False, _t(2), _t(2)),
    ),
    "_scaled_dot_product_cudnn_attention_backward": lambda: _attention_backward(
        "_scaled_dot_product_cudnn_attention_backward",
        *([], _t(2), _t(2), None, None, None, L, S, 0.0, False),
        lse=(N, H, L, 1),
    ),
    "_flash_attention_backward": lambda: _attention_backward(
        "_flash_attention_backward",
        *([], None, None, L2, S2, 0.0, False, _t(2), _t(2)),
        heads_first=False,
        lse=(N, H, L2),
    ),
    "_efficient_attention_backward": lambda: aten._efficient_attention_backward(
        _t(N, L2, H, DV),
        *_qkv(heads_first=False),
        None,
        _t(N, L2, H, DV),
        None,
        None,
        *(L2, S2, _t(N, H, L2), 0.0, _scalar(), _scalar(), 0, False),
    ),
}
# ops whose conventions differ, or that cannot run here, with the reason
NOT_COMPARED = {
    "_scaled_mm": "float8 only, with scales: no float8 kernel on CPU or meta here",
    "cudnn_convolution": "CUDA only, no meta kernel; its rule is convolution's untransposed one",
    "_slow_conv2d_forward": "FlopCounterMode's own formula raises here (conv_flop() missing "
    "'transposed'); its rule is convolution's untransposed one",
    "convolution_overrideable": "runs only on an out-of-tree backend; its rule is convolution's",
    "flex_attention": "a higher-order op needing compiled block masks; the fused formula's rule",
    "flex_attention_backward": "as flex_attention; the fused backward formula's rule",
}


def _covered(name: str) -> bool:
    return any(case.split()[0] == name for case in FORWARD) or name in NOT_COMPARED


def test_every_flop_counter_op_is_compared_or_explained():
    names = [getattr(op, "__name__", str(op)) for op in flop_registry]
    missing = [n for n in names if not _covered(n)]
    assert missing == []


def _macs(taps) -> int:
    return taps.nominal if isinstance(taps, Taps) else taps


class _Calls(torch.utils._python_dispatch.TorchDispatchMode):
    """Every call of an op FlopCounterMode prices, with its output, for our rules to price."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket in flop_registry:
            self.calls.append((func, args, kwargs or {}, out))
        return out


@pytest.mark.parametrize("case", sorted(FORWARD))
def test_forward_rule_equals_flop_counter(case):
    with FlopCounterMode(display=False) as fc, _Calls() as seen:
        FORWARD[case]()
    ((func, args, kwargs, out),) = seen.calls
    first = out[0] if isinstance(out, (tuple, list)) else out
    rule = OP_RULES.lookup(func)
    ours = _macs(rule.fn(named_args(func, args, kwargs), tuple(first.shape)))
    assert fc.get_total_flops() == 2 * ours > 0


def _grads(func, args, kwargs, out):
    return BACKWARD_RULES.lookup(func).fn(named_args(func, args, kwargs), tuple(out.shape))


def _grads_total(func, args, kwargs, out) -> int:
    g = _grads(func, args, kwargs, out)
    return sum(g.per_arg.values()) + g.shared


TRAINED = {  # a real forward and backward on CPU, every input requiring grad
    "mm": lambda t: torch.mm(t(3, 4), t(4, 5)),
    "bmm": lambda t: torch.bmm(t(2, 3, 4), t(2, 4, 5)),
    "addmm": lambda t: torch.addmm(t(5), t(3, 4), t(4, 5)),
    "baddbmm": lambda t: torch.baddbmm(t(2, 3, 5), t(2, 3, 4), t(2, 4, 5)),
    "conv2d": lambda t: torch.conv2d(t(2, 4, 7, 6), t(6, 4, 3, 2), stride=(2, 1), padding=(1, 0)),
    "conv_transpose2d": lambda t: torch.conv_transpose2d(t(2, 4, 7, 6), t(4, 3, 3, 2), stride=2),
}


@pytest.mark.parametrize("case", sorted(TRAINED))
def test_backward_rule_equals_flop_counter(case):
    def t(*shape):
        return _t(*shape, device="cpu", grad=True)

    with FlopCounterMode(display=False) as fc, _Calls() as seen:
        out = TRAINED[case](t)
    forward = fc.get_total_flops()
    with FlopCounterMode(display=False) as fc:
        out.sum().backward()
    (call,) = seen.calls
    assert fc.get_total_flops() == 2 * _grads_total(*call) > 0
    assert forward == 2 * _grads(*call).forward


def test_fused_attention_backward_equals_flop_counter():
    """Our backward rule of the fused forward, and our rule of the backward op: one formula."""
    q, k, v = _qkv()
    with FlopCounterMode(display=False) as fc:
        FORWARD["_scaled_dot_product_efficient_attention_backward"]()
    func = aten._scaled_dot_product_efficient_attention.default
    out = torch.empty(N, H, L, DV, device="meta")
    ours = _grads_total(func, (q, k, v, None, False), {}, out)
    assert fc.get_total_flops() == 2 * ours == 2 * N * H * L * S * (3 * D + 2 * DV)
    assert _grads(func, (q, k, v, None, False), {}, out).forward == prod((N, H, L, S)) * (D + DV)

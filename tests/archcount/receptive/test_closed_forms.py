"""The README's closed forms of the homework nets' receptive fields, for k = 2..9."""

import pytest

from archcount.formulas.derived import Variable
from archcount.formulas.receptive import derive_fields
from archcount.front.space import sampled
from archcount.receptive.run import receptive_fields
from models import ConvTransposeNet, PoolUpsampleNet, UNet

# (largest, smallest) of the output, as the README gives them, by k mod 4.
README = {
    PoolUpsampleNet: {
        0: (lambda k: 10 * k - 3, lambda k: 10 * k - 7),
        1: (lambda k: 10 * k - 6, lambda k: 10 * k - 6),
        2: (lambda k: 10 * k - 5, lambda k: 10 * k - 9),
        3: (lambda k: 10 * k - 4, lambda k: 10 * k - 8),
    },
    ConvTransposeNet: dict.fromkeys(range(4), (lambda k: 7 * k - 6, lambda k: 7 * k - 10)),
    UNet: dict.fromkeys(range(4), (lambda k: 7 * k - 6, lambda k: 7 * k - 10)),
}


@pytest.mark.parametrize("k", range(2, 10))
@pytest.mark.parametrize("cls", README, ids=lambda c: c.__name__)
def test_readme_forms(cls, k):
    """The field pass at k (itself checked against the gradient route) gives the README's."""
    largest, smallest = README[cls][k % 4]
    out = receptive_fields(cls(kernel=k, num_filters=1, num_colours=1), (1, 1, 32, 32)).output
    assert [(d.largest, d.smallest, d.jump) for d in out] == [(largest(k), smallest(k), 1)] * 2


def test_derived_forms_pool_upsample():
    """derive finds the four classes of k mod 4 and the README's forms on each."""
    model = sampled("models.PoolUpsampleNet", {"num_filters": 1, "num_colours": 1})
    d = derive_fields(model.space, model.name, [Variable("k", 3)], {"S": 32})
    got = {c.residue.conditions: (d.form(c, "", "largest", 0), d.form(c, "", "smallest", 0))
           for c in d.classes}  # fmt: skip
    assert got == {
        (("k", 4, 0),): ("10k - 3", "10k - 7"),
        (("k", 4, 1),): ("10k - 6", "10k - 6"),
        (("k", 4, 2),): ("10k - 5", "10k - 9"),
        (("k", 4, 3),): ("10k - 4", "10k - 8"),
    }
    assert all(d.form(c, "", "jump", i) == "1" for c in d.classes for i in range(2))


def test_derived_forms_unet_every_k():
    """UNet's field is linear in k on every class: one form, 'every value'."""
    model = sampled("models.UNet", {"num_filters": 1, "num_colours": 1})
    d = derive_fields(model.space, model.name, [Variable("k", 3)], {"S": 32})
    assert [c.residue.text() for c in d.classes] == ["every value"]
    assert (d.form(d.classes[0], "", "largest", 1), d.form(d.classes[0], "", "smallest", 1)) == (
        "7k - 6",
        "7k - 10",
    )

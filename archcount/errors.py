"""Errors the user can cause; the CLI prints each as one line and exits with code 2."""


class ArchcountError(Exception):
    """A problem in what the user asked for, stated in one line."""


class TargetError(ArchcountError):
    """The TARGET cannot be imported, called or is not an nn.Module."""


class InputError(ArchcountError):
    """An input size or option value that cannot describe a valid input."""


class ForwardError(ArchcountError):
    """The model's forward failed; the message names the layer and the shapes it saw."""


class RuleError(ArchcountError):
    """A counting rule was registered twice or returned something unusable."""


class FormulaError(ArchcountError):
    """A formula that does not parse, or names a variable or quantity we do not know."""


class DerivationError(ArchcountError):
    """No closed form could be derived (not a polynomial, or too few valid sample points)."""

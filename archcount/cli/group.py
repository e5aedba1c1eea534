"""The typer group both CLIs use (`archcount`, `python -m train`): a usage error (`--size abc`,
`--lr abc`, an unknown choice) is one red line and exit 2, as every other error is."""

from __future__ import annotations

import sys
from difflib import SequenceMatcher

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from archcount.files import error_line

# How alike a mistyped option and a real one must be, dashes left out: 'nff' and 'nf' are
# 0.80, 'epoch' and 'epochs' 0.91, 'sise' and 'size' 0.75; 'filters' and 'fit' only 0.60
# (difflib's default cut-off, 0.6 with the dashes, offered --fit for --filters)
OPTION_CUTOFF = 0.75


class OneLineGroup(TyperGroup):
    """typer's group, but a usage error is one red line naming the command's --help, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except TyperException as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # that one has printed the help
                error_line(usage_line(exc))
            sys.exit(exc.exit_code)
        except typer.Abort:
            error_line("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def usage_line(exc: TyperException) -> str:
    """The usage error's message; for an unknown option, the options it may have meant."""
    ctx = getattr(exc, "ctx", None)
    where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    typo = getattr(exc, "option_name", None)
    if ctx is None or typo is None or not hasattr(exc, "possibilities"):  # not "No such option"
        return f"{exc.format_message()}{where}"
    near = similar_options(typo, ctx)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    return f"{exc.message}{hint}{where}"


def similar_options(typo: str, ctx) -> list[str]:
    """The command's long options as alike as OPTION_CUTOFF to `typo` (dashes aside), best first."""
    options = {o for p in ctx.command.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}
    word = typo.lstrip("-")
    scored = [(SequenceMatcher(None, word, o.lstrip("-")).ratio(), o) for o in options]
    return [o for score, o in sorted(scored, reverse=True)[:3] if score >= OPTION_CUTOFF]

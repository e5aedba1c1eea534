"""Closed forms: Formula (exact, sympy-free), sympy in one module, declared formulas, derivation, explanation."""

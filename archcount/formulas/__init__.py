"""Closed forms: Formula (exact, no sympy), sympy in one module, declared, derive, explain."""

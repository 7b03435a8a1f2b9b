"""Compile FHIRPath once, after a strict syntax check.

fhirpathpy's own parser recovers from syntax errors silently ("foo bar" evaluates to []), so a typo in an
invariant would pass every resource. The check below runs the same generated grammar with an error
listener that raises, and requires the whole text to be one expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fhirpathpy
from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy.models import models
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

R4 = models["r4"]


class FhirPathSyntaxError(ValueError):
    pass


class _Raise(ErrorListener):  # type: ignore[misc]
    def syntaxError(self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any) -> None:
        raise FhirPathSyntaxError(f"column {column + 1}: {msg}")


def check_syntax(expression: str) -> None:
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(_Raise())
    parser.expression()
    if tokens.LA(1) != Token.EOF:
        raise FhirPathSyntaxError(f"unexpected {tokens.LT(1).text!r} after the expression")


def _no_trace(*_: Any) -> None:
    return None


def compile_expression(expression: str) -> Callable[..., list[Any]]:
    """A function of a resource (JSON) that evaluates the expression against the R4 model."""
    check_syntax(expression)
    compiled: Callable[..., list[Any]] = fhirpathpy.compile(expression, R4, options={"traceFn": _no_trace})
    return compiled

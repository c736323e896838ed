"""Argument types shared by the commands: bad values get argparse's one-line error."""
from __future__ import annotations

import argparse


def whole_number(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number in [minimum, maximum], with a one-line error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected at most {maximum:,}, got {value:,}")
        return value
    return parse


def finite(text: str) -> float:
    """An argparse type: a finite number (an infinite --max would grow the search without end)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value

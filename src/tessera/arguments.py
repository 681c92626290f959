"""Argument types shared by the command-line tools."""

from __future__ import annotations

import argparse


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return value

"""Rules shared by the `fpgaml` commands in cli.py and explore_cli.py.

A separate module because cli.py imports explore_cli.py (at its bottom), so explore_cli.py
cannot import from cli.py without a cycle.
"""

from __future__ import annotations

from typing import Any

from .compiler.errors import UserError


def check_model_or_example(model: str | None, example: str | None) -> None:
    """Refuse both or neither of the MODEL argument and --example NAME (cheap; loads nothing)."""
    if (model is None) == (example is None):
        raise UserError("give exactly one of MODEL or --example NAME")


def model_source(model: str | None, example: str | None) -> Any:
    """What to hand the API: the example model named by --example, or the MODEL argument as given."""
    check_model_or_example(model, example)
    if example is None:
        return model
    import fpgaml as api  # heavy (TensorFlow); only once the command has checked its input

    return api.example(example)

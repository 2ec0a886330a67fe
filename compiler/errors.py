"""Errors that reach the user as one line.

Every failure caused by the user's input (a missing file, an unsupported layer, a bad
precision string, an unknown part...) is raised as :class:`UserError`. The CLI catches it,
prints its message on one stderr line and exits with code 2; the Python API lets it
propagate so notebooks see a normal exception.
"""


class UserError(Exception):
    """A problem with the user's input, reported without a traceback (CLI exit code 2)."""


class CheckFailed(UserError):
    """The generated design does not compute what the framework model computes."""


class ToolMissing(UserError):
    """An external tool (vivado_hls, vitis_hls, ...) needed for the request is not on PATH."""

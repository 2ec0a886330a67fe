"""fpgaml: quantized neural networks to Xilinx FPGAs, and what they will cost before synthesis.

The public Python API. Each capability lives in its own subpackage (``fpgaml.compiler``,
``fpgaml.surrogates``, ``fpgaml.datasets``); this module re-exports what users call.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fpgaml")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from .compiler.build import BuildResult, build
from .compiler.errors import CheckFailed, ToolMissing, UserError
from .compiler.examples import example, examples

__all__ = ["BuildResult", "CheckFailed", "ToolMissing", "UserError", "build", "example", "examples", "explore",
           "predict", "predict_many", "__version__"]


def __getattr__(name: str):
    """``fpgaml.predict`` / ``fpgaml.predict_many`` import the surrogates (pandas) on first use."""
    if name in ("predict", "predict_many"):
        from . import surrogates

        return getattr(surrogates, name)
    if name == "explore":
        from .compiler.explore import explore

        return explore
    raise AttributeError(f"module 'fpgaml' has no attribute {name!r}")

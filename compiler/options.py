"""Build options: what the user may set, validated before any work starts.

Validation happens up front so a bad option never leaves a half-written project behind,
and so strings that end up in generated C++ and Tcl (precisions) are known to be safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError
from .parts import resolve_part

BACKENDS = {"vivado": "Vivado", "vitis": "Vitis"}
STRATEGIES = {"latency": "Latency", "resource": "Resource", "distributed_arithmetic": "distributed_arithmetic"}
IO_TYPES = {"parallel": "io_parallel", "stream": "io_stream"}
FLOWS = {"hls": "hls4ml HLS project", "rtl": "da4ml Verilog (open flow)"}

_QUANT_MODES = "AP_RND|AP_RND_ZERO|AP_RND_MIN_INF|AP_RND_INF|AP_RND_CONV|AP_TRN|AP_TRN_ZERO"
_OVF_MODES = "AP_SAT|AP_SAT_ZERO|AP_SAT_SYM|AP_WRAP|AP_WRAP_SM"
_FIXED = re.compile(
    rf"^(ap_)?(u?fixed)<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*({_QUANT_MODES})\s*(?:,\s*({_OVF_MODES})\s*(?:,\s*(\d+)\s*)?)?)?>$"
)
_INT = re.compile(r"^(ap_)?(u?int)<\s*(\d+)\s*>$")
MAX_WIDTH = 1024  # AP_INT_MAX_W default in Xilinx's ap_int headers
PRECISION_HELP = "ap_fixed<W,I[,Q[,O[,N]]]>, ap_ufixed<W,I,...>, ap_int<W> or ap_uint<W> with 1 <= W <= 1024"


def validate_precision(text: str) -> str:
    """Return the precision in canonical ``ap_`` form or raise a one-line UserError."""
    s = text.strip()
    m = _FIXED.match(s) or _INT.match(s)
    if not m:
        raise UserError(f"invalid precision '{text}'; expected {PRECISION_HELP}")
    width = int(m.group(3))
    if not 1 <= width <= MAX_WIDTH:
        raise UserError(f"invalid precision '{text}': width {width} outside 1..{MAX_WIDTH}")
    return s if s.startswith("ap_") else "ap_" + s


def _choice(value: str, choices: dict[str, str], what: str) -> str:
    key = value.strip().lower()
    if key not in choices:
        raise UserError(f"unknown {what} '{value}'; supported: {', '.join(choices)}")
    return key


@dataclass
class BuildOptions:
    """Everything that shapes a build. Field names are the CLI's and the API's keywords."""

    part: str = "xcvu13p"
    backend: str = "vivado"
    precision: str = "ap_fixed<16,6>"
    reuse_factor: int = 1
    strategy: str = "latency"
    io: str = "parallel"
    clock_period: float = 5.0
    flow: str = "hls"
    pipeline_stages: int | None = None
    hls_config: dict[str, Any] = field(default_factory=dict)
    csim: bool = True
    synth: bool = False
    n_samples: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        self.full_part, self.part_info = resolve_part(self.part)
        self.backend = _choice(self.backend, BACKENDS, "backend")
        self.strategy = _choice(self.strategy, STRATEGIES, "strategy")
        self.io = _choice(self.io, IO_TYPES, "io type")
        self.precision = validate_precision(self.precision)
        self.flow = _choice(self.flow, FLOWS, "flow")
        if self.pipeline_stages is not None and (not isinstance(self.pipeline_stages, int) or self.pipeline_stages < 1):
            raise UserError(f"invalid number of pipeline stages {self.pipeline_stages!r}; it must be an integer >= 1")
        if self.pipeline_stages is not None and self.flow != "rtl":
            raise UserError("--pipeline-stages applies to --flow rtl only")
        if self.synth and self.flow == "rtl":
            raise UserError("--synth runs Vivado/Vitis HLS on the hls flow; for the open flow run `fpgaml synth OUT`")
        if not isinstance(self.reuse_factor, int) or self.reuse_factor < 1:
            raise UserError(f"invalid reuse factor {self.reuse_factor!r}; it must be an integer >= 1")
        if not 0.5 <= float(self.clock_period) <= 100.0:
            raise UserError(f"invalid clock period {self.clock_period} ns; expected 0.5 to 100 ns")
        if self.n_samples < 1:
            raise UserError(f"invalid number of C-sim samples {self.n_samples}; it must be >= 1")

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "build") -> "BuildOptions":
        """Construct from keyword values, refusing unknown names with the list of known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(f"{where}: unknown option(s) {', '.join(unknown)}; supported: {', '.join(sorted(known))}")
        return cls(**values)

    @property
    def hls4ml_backend(self) -> str:
        return BACKENDS[self.backend]

    @property
    def hls4ml_strategy(self) -> str:
        return STRATEGIES[self.strategy]

    @property
    def io_type(self) -> str:
        return IO_TYPES[self.io]

    def summary(self) -> dict[str, Any]:
        """The ``config`` section of report.json."""
        return {
            "part": self.full_part,
            "backend": self.backend,
            "strategy": self.strategy,
            "io_type": self.io_type,
            "precision": self.precision,
            "reuse_factor": self.reuse_factor,
            "clock_period": float(self.clock_period),
        }


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a --config YAML file: build options and an optional hls4ml ``HLSConfig`` override.

    Keys other than BuildOptions fields are refused so a typo never passes silently.
    """
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of options at the top level")
    if "HLSConfig" in data:
        data["hls_config"] = data.pop("HLSConfig")
    BuildOptions.from_mapping(data, where=str(path))  # validates names and values early
    return data

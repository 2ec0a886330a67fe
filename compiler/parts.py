"""Xilinx parts fpgaml knows: short aliases, full part names, families and resource totals.

Resource totals are the device totals from AMD/Xilinx product tables: DS890 (UltraScale
Architecture and Product Overview; VU9P, VU13P), DS962 (Alveo U200/U250 data sheet: the
cards carry a VU9P-class and a VU13P-class device), DS891 (Zynq UltraScale+ MPSoC
Overview; ZU7EV, ZU9EG) and DS190 (Zynq-7000 SoC Overview; Z-7020). BRAM is counted in
18K blocks, as HLS reports it. The family is what Yosys's ``synth_xilinx -family`` takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UserError


@dataclass(frozen=True)
class Part:
    """One device: its default full part name (package and speed grade) and its totals."""

    device: str
    default_part: str
    family: str
    lut: int
    ff: int
    dsp: int
    bram_18k: int
    uram: int


PARTS: dict[str, Part] = {
    p.device: p
    for p in (
        Part("xcvu13p", "xcvu13p-flga2577-2-e", "xcup", 1_728_000, 3_456_000, 12_288, 5_376, 1_280),
        Part("xcvu9p", "xcvu9p-flga2104-2L-e", "xcup", 1_182_240, 2_364_480, 6_840, 4_320, 960),
        Part("xcu250", "xcu250-figd2104-2L-e", "xcup", 1_728_000, 3_456_000, 12_288, 5_376, 1_280),
        Part("xcu200", "xcu200-fsgd2104-2-e", "xcup", 1_182_240, 2_364_480, 6_840, 4_320, 960),
        Part("xczu7ev", "xczu7ev-ffvc1156-2-e", "xcup", 230_400, 460_800, 1_728, 624, 96),
        Part("xczu9eg", "xczu9eg-ffvb1156-2-e", "xcup", 274_080, 548_160, 2_520, 1_824, 0),
        Part("xc7z020", "xc7z020-clg400-1", "xc7", 53_200, 106_400, 220, 280, 0),
    )
}

# A full part name: device, package, speed grade, optional temperature grade (e.g. -2L-e).
_FULL_PART = re.compile(r"^(xc[a-z0-9]+)-([a-z]{2,5}[0-9]{3,4})-([0-9][a-z]?)(-[a-z])?$", re.IGNORECASE)


def resolve_part(name: str) -> tuple[str, Part]:
    """Return (full part name, Part) for an alias such as ``xcu250`` or a full part name.

    Unknown devices are refused rather than passed to Vivado, because every later stage
    (estimates, fit checks, Yosys family) needs to know what the device holds.
    """
    key = name.strip().lower()
    if key in PARTS:
        return PARTS[key].default_part, PARTS[key]
    match = _FULL_PART.match(name.strip())
    if match and match.group(1).lower() in PARTS:
        return name.strip(), PARTS[match.group(1).lower()]
    known = ", ".join(f"{p.device} ({p.default_part})" for p in PARTS.values())
    raise UserError(f"unknown part '{name}'; supported: {known}, or any package/speed of these devices")

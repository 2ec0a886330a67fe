"""RTL simulation: does the generated Verilog compute, bit for bit, what the Keras model computes?

Seeded input vectors are drawn on each input's own fixed-point grid (so the model's input
quantizer is the identity on them and both sides see identical values), the framework
model's outputs are computed here in Python and encoded as the port bit patterns the
design must produce, and a cocotb testbench rendered from
``fpgaml.firmware_templates/cocotb/tb_model.py.tmpl`` drives them through Verilator via
cocotb's runner and counts differing vectors. Everything lives in OUT/rtl_sim/; the
framework model is reloaded from OUT/rtl/reference.keras when none is passed in, so
``fpgaml sim OUT`` needs nothing but OUT.
"""

from __future__ import annotations

import json
import shutil
import string
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..frontends.base import LoadedModel
from ._proc import TimedOut, first_line, run_logged
from .emit import read_rtl_meta, rtl_dir
from .tools import find_verilator, tool_env

SIM_DIR = "rtl_sim"
TEMPLATE = "cocotb/tb_model.py.tmpl"
TEST_MODULE = "tb_model"
SIM_CLOCK_NS = 10  # zero-delay RTL: the period only orders events, the design's real clock is in the XDC
DEFAULT_TIMEOUT_S = 900.0


def grid_inputs(fmt: dict[str, Any], n: int, seed: int) -> np.ndarray:
    """``n`` input vectors (n, elements) on each element's grid; the first three are the corners.

    Vector 0 has every element at its minimum, vector 1 at its maximum, vector 2 at zero
    (clipped into range): saturation and sign edges are always exercised.
    """
    rng = np.random.default_rng(seed)
    cols = []
    for e in fmt["per_element"]:
        step = e["step"]
        if not (np.isfinite(step) and step > 0) or e["max"] < e["min"]:
            cols.append(np.zeros(n))  # an input the design does not use (zero bits wide)
            continue
        lo, hi = round(e["min"] / step), round(e["max"] / step)
        ints = rng.integers(lo, hi + 1, size=n)
        corners = [lo, hi, min(max(0, lo), hi)][: min(n, 3)]
        ints[: len(corners)] = corners
        cols.append(ints * step)
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0))


def encode(values: np.ndarray, fmt: dict[str, Any]) -> list[str | None]:
    """Pack each row into the wrapper port's bit pattern (hex); None where a value is off the grid.

    Element j sits in bits [W*(j+1)-1 : W*j] as a two's-complement integer in units of
    2**-frac_bits. A value that is not a whole number of those units cannot be what the
    hardware produces, so it is kept as None and counts as a mismatch.
    """
    width, scale = fmt["slot_bits"], 2.0 ** fmt["frac_bits"]
    mask = (1 << width) - 1
    words: list[str | None] = []
    for row in np.asarray(values, dtype=np.float64):
        bus, ok = 0, True
        for j, v in enumerate(row):
            q = v * scale
            if not (np.isfinite(q) and float(q).is_integer()):
                ok = False
                break
            bus |= (int(q) & mask) << (width * j)
        words.append(format(bus, "x") if ok else None)
    return words


def _reference(out_dir: Path, meta: dict[str, Any], loaded: LoadedModel | None) -> LoadedModel:
    if loaded is not None:
        return loaded
    from ..frontends.keras_model import load_keras_file

    path = rtl_dir(out_dir) / meta["reference_model"]
    if not path.is_file():
        raise UserError(f"{path}: the reference model saved by the RTL build is missing; rebuild with --flow rtl")
    return load_keras_file(path)


def write_vectors(out_dir: Path, meta: dict[str, Any], loaded: LoadedModel | None, n: int, seed: int) -> Path:
    """Inputs and the framework model's expected outputs, as port bit patterns, in vectors.json."""
    ref = _reference(out_dir, meta, loaded)
    x = grid_inputs(meta["inputs"], n, seed)
    x32 = x.astype(np.float32)
    if not np.array_equal(x32.astype(np.float64), x):
        raise UserError("input grid values are not exact in float32 (inputs wider than 24 bits); cannot simulate")
    y = np.asarray(ref.predict(x32.reshape(n, *meta["input_shape"])), dtype=np.float64).reshape(n, -1)
    if y.shape[1] != meta["outputs"]["elements"]:
        raise UserError(f"the framework model gives {y.shape[1]} outputs, the RTL {meta['outputs']['elements']}")
    words_in = encode(x, meta["inputs"])
    path = Path(out_dir) / SIM_DIR / "vectors.json"
    path.write_text(json.dumps({"inputs": words_in, "expected": encode(y, meta["outputs"])}))
    return path


def _render_testbench(sim: Path, meta: dict[str, Any], vectors: Path, result: Path) -> None:
    template = resources.files("fpgaml.firmware_templates").joinpath(TEMPLATE).read_text()
    text = string.Template(template).substitute(
        top=meta["top"], wrapper=meta["wrapper"], vectors=vectors.resolve(), result=result.resolve(),
        latency=int(meta["latency_cycles"]), clock_ns=SIM_CLOCK_NS,
    )
    (sim / f"{TEST_MODULE}.py").write_text(text)


def _copy_memfiles(out_dir: Path, dest: Path) -> None:
    """Lookup-table contents: the Verilog's $readmemh names them relative to the simulator's cwd."""
    for mem in (rtl_dir(out_dir) / "src" / "memfiles").glob("*"):
        if mem.is_file():
            shutil.copy(mem, dest / mem.name)


def _write_visibility(sim: Path, meta: dict[str, Any]) -> Path:
    """A Verilator control file that makes only the wrapper's signals visible to cocotb.

    cocotb 2.1.0's runner always passes --public-flat-rw, which keeps every internal net of
    the design as a VPI-visible C++ member: for jet_tagger that is 53 MB of C++ and a
    ~400 s build on 2 cores. The testbench touches only the wrapper's ports, so the flag is
    turned off again (--no-public-flat-rw, given after it) and re-granted to the wrapper alone.
    """
    path = sim / "visibility.vlt"
    path.write_text(f'`verilator_config\npublic_flat_rw -module "{meta["wrapper"]}" -var "*"\n')
    return path


def _fail_message(sim: Path, status: dict[str, Any], out_dir: Path) -> str:
    if status.get("stage") == "build":
        fallback = first_line(sim / "driver.log", r"Error|error", status.get("error", "see driver.log"))
        err = first_line(sim / "build.log", r"%Error|\berror\b", fallback)
        return f"Verilator could not build the RTL in {rtl_dir(out_dir)}: {err}"
    err = first_line(sim / "sim.log", r"(%Error|Error|Traceback|FATAL)", status.get("error", "see sim.log"))
    return f"RTL simulation failed ({sim / 'sim.log'}): {err}"


def simulate(
    out_dir: Path, loaded: LoadedModel | None, n_vectors: int, seed: int, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    """Simulate OUT/rtl/ on Verilator with ``n_vectors`` seeded vectors; returns the ``rtl_sim`` section.

    A testbench that runs but finds differences is a result (``mismatches`` > 0), not an
    error; a build failure, crash or timeout raises UserError. report.json is not touched.
    """
    if n_vectors < 1:
        raise UserError(f"invalid number of vectors {n_vectors}; expected 1 or more")
    out_dir = Path(out_dir)
    meta = read_rtl_meta(out_dir)
    env = tool_env(verilator=True, yosys=False)
    env.pop("PYTEST_CURRENT_TEST", None)  # cocotb's runner changes behaviour under pytest
    verilator = find_verilator()
    sim = out_dir / SIM_DIR
    sim.mkdir(parents=True, exist_ok=True)
    for stale in ("result.json", "status.json", "results.xml"):
        (sim / stale).unlink(missing_ok=True)

    vectors = write_vectors(out_dir, meta, loaded, n_vectors, seed)
    result, status_path = sim / "result.json", sim / "status.json"
    _render_testbench(sim, meta, vectors, result)
    _copy_memfiles(out_dir, sim)
    config = {
        "sources": [str(_write_visibility(sim, meta).resolve())]
        + [str((rtl_dir(out_dir) / f).resolve()) for f in meta["files"]],
        "toplevel": meta["wrapper"],
        "build_dir": str((sim / "sim_build").resolve()),
        # -Wno-fatal: da4ml's Verilog is lint-clean only under its own waivers.
        "build_args": ["-Wno-fatal", "--no-public-flat-rw"],
        "build_log": str((sim / "build.log").resolve()),
        "sim_log": str((sim / "sim.log").resolve()),
        "test_dir": str(sim.resolve()),
        "test_module": TEST_MODULE,
        "results_xml": str((sim / "results.xml").resolve()),
        "status": str(status_path.resolve()),
        "seed": seed,
    }
    (sim / "run.json").write_text(json.dumps(config, indent=1))
    driver = Path(__file__).with_name("_cocotb_driver.py")
    try:
        run_logged([sys.executable, str(driver), str(sim / "run.json")], cwd=sim, env=env, timeout_s=timeout_s,
                   log=sim / "driver.log")
    except TimedOut:
        stage = json.loads(status_path.read_text()).get("stage", "build") if status_path.exists() else "build"
        what = "Verilator build" if stage == "build" else "simulation run"
        raise UserError(f"RTL simulation stopped: the {what} did not finish within {timeout_s:g} s") from None
    status = json.loads(status_path.read_text()) if status_path.exists() else {"stage": "build"}
    if not result.exists():
        raise UserError(_fail_message(sim, status, out_dir))
    outcome = json.loads(result.read_text())
    return {
        "n_vectors": int(outcome["n_vectors"]),
        "mismatches": int(outcome["mismatches"]),
        "simulator": "verilator",
        "simulator_version": verilator.version,
        "build_s": round(float(status.get("build_s", float("nan"))), 3),
        "run_s": round(float(status.get("run_s", float("nan"))), 3),
    }


__all__ = ["encode", "grid_inputs", "simulate", "write_vectors"]

"""Child process that builds and runs the cocotb testbench with cocotb's Verilator runner.

Run as a plain script (``python _cocotb_driver.py CONFIG.json``), not as part of the
fpgaml package, so it starts without importing TensorFlow. It is a separate process
because cocotb's runner offers no time limit, calls ``sys.exit`` when a simulation fails,
switches behaviour when it sees PYTEST_CURRENT_TEST, and takes PYTHONPATH from
``sys.path``; here all of that stays contained, and the parent can stop the whole process
group on timeout. Progress goes to STATUS.json so the parent knows which stage failed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text())
    status_path = Path(cfg["status"])
    status: dict = {"stage": "build"}

    def save() -> None:
        status_path.write_text(json.dumps(status))

    save()
    # The runner hands sys.path on as the simulator's PYTHONPATH: drop this script's folder
    # (fpgaml's rtl modules would shadow top-level names such as `tools`) and add the testbench's.
    here = Path(__file__).resolve().parent
    sys.path[:] = [cfg["test_dir"]] + [p for p in sys.path if p and Path(p).resolve() != here]
    from cocotb_tools.runner import get_runner

    runner = get_runner("verilator")
    t0 = time.perf_counter()
    try:
        runner.build(
            sources=cfg["sources"], hdl_toplevel=cfg["toplevel"], build_dir=cfg["build_dir"],
            build_args=cfg["build_args"], log_file=cfg["build_log"], always=True,
        )
    except (Exception, SystemExit) as err:  # the runner raises RuntimeError, ValueError or SystemExit
        status.update(error=f"{type(err).__name__}: {err}")
        save()
        return 3
    status.update(stage="run", build_s=time.perf_counter() - t0)
    save()
    t0 = time.perf_counter()
    try:
        runner.test(
            test_module=cfg["test_module"], hdl_toplevel=cfg["toplevel"], build_dir=cfg["build_dir"],
            test_dir=cfg["test_dir"], results_xml=cfg["results_xml"], log_file=cfg["sim_log"], seed=cfg["seed"],
        )
    except (Exception, SystemExit) as err:
        status.update(error=f"{type(err).__name__}: {err}", run_s=time.perf_counter() - t0)
        save()
        return 4
    status.update(stage="done", run_s=time.perf_counter() - t0)
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

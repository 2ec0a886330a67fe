"""Bring open-flow records' ``design_graph`` field up to what the generator now writes.

The first 145 records of mixed_seed0 were labelled before records carried the featurizer's
view of the design. A design is a pure function of its ``design`` section, so the model is
rebuilt, converted and featurized exactly as :mod:`fpgaml.datasets.design` now does during
generation (no synthesis: the labels are untouched). Each rebuilt model is checked against
the record's layer names and parameter counts.

The first 432 records' graphs lack ``pipeline_stages``: they get the stage count the design
asked for (``design.pipeline_stages``), as the generator now stores it. That, not the count
da4ml built (``rtl.pipeline_stages``, fewer when a circuit is too shallow to cut), is what a
user gives at predict time, so it is the feature. Run only while no generator writes DIR:

    .venv/bin/python datasets/open_flow/add_design_graph.py datasets/open_flow/mixed_seed0
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from fpgaml.compiler.frontends.keras_model import wrap_keras_model
from fpgaml.datasets.design import _jsonable, _layer_entry, open_flow_features
from fpgaml.datasets.space import DesignSpec, build_model
from fpgaml.surrogates.features import design_graph


def main(directory: str) -> int:
    path = Path(directory) / "records.jsonl"
    lines = path.read_text().splitlines()
    out, added, staged = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, line in enumerate(lines, 1):
            record = json.loads(line)
            if "design_graph" not in record:
                spec = DesignSpec.from_dict(record["design"])
                model = build_model(spec)
                have = [(entry["name"], entry["parameters"]) for entry in map(_layer_entry, model.layers)]
                want = [(entry["name"], entry["parameters"]) for entry in record["model_config"]]
                if have != want:
                    raise SystemExit(f"{path}:{n}: rebuilt model differs from the record ({have} != {want})")
                features = open_flow_features(spec, wrap_keras_model(model), Path(tmp) / str(n))
                record["design_graph"] = _jsonable(features.to_dict())
                added += 1
            elif "pipeline_stages" not in record["design_graph"]:
                circuit = design_graph(record["design_graph"]).as_rtl_circuit(record["design"]["pipeline_stages"])
                record["design_graph"] = _jsonable(circuit.to_dict())
                staged += 1
            out.append(json.dumps(record))
    tmp_path = path.with_suffix(".jsonl.tmp")
    tmp_path.write_text("\n".join(out) + "\n")
    os.replace(tmp_path, path)
    print(f"{path}: design_graph added to {added} and pipeline stages to {staged} of {len(lines)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

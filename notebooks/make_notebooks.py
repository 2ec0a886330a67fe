"""Write the example notebooks from plain Python, so they are reviewed (and diffed) as code.

    .venv/bin/python notebooks/make_notebooks.py          # (re)writes notebooks/*.ipynb, outputs empty
    .venv/bin/python -m pytest --nbmake notebooks/         # runs each top to bottom

Why a generator: .ipynb JSON hides code changes in noise and invites committed outputs
(large, machine-specific, stale). Each notebook here is a list of (kind, source) cells; the
written files carry no outputs and no execution counts. Every notebook builds into a fresh
temporary directory, so running them leaves nothing in the repository.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # quiet TensorFlow's start-up chatter
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import fpgaml

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
WORK = Path(tempfile.mkdtemp(prefix="fpgaml-notebook-"))   # builds go here, not into the repository
print("fpgaml", fpgaml.__version__, "- outputs in", WORK)"""

BUILD_AND_BITCHECK = [
    ("md", """\
# 1. Build the jet tagger and check it bit for bit

The `jet_tagger` example is the hls4ml jet-tagging benchmark, MLP 16-64-32-32-5 at
ap_fixed<16,6>, written with HGQ2 quantizers (`jet_tagger_hgq` is the same network with HGQ2's
narrow, quantization-aware widths). `fpgaml.build` converts it with hls4ml, writes the HLS project,
compiles it with g++ and runs the C++ model against the Keras model on 1000 seeded inputs.
For HGQ2 models the two must agree **bit for bit**; a mismatch is an error, not a warning.

Weights are seeded, not trained: the point is the compiler, not the physics."""),
    ("code", SETUP),
    ("code", """\
model = fpgaml.example("jet_tagger")
model.summary()"""),
    ("md", "## Build (hls4ml project + g++ C-simulation check)\n\nTakes 10-30 s: most of it is g++."),
    ("code", """\
result = fpgaml.build(model, WORK / "jet_tagger", part="xcu250", reuse_factor=1, strategy="latency")
report = result.report
print("output:", result.output_dir)
print("timing (s):", {k: round(v, 2) for k, v in report["timing"].items()})
report["csim"]"""),
    ("code", """\
assert report["csim"]["bit_exact"], "the generated design does not compute what the model computes"
pd.DataFrame(report["model"]["layers"])"""),
    ("md", """\
## Check it again ourselves

The build's check used its own seeded inputs. Here: fresh inputs from a different
distribution (wider, heavier-tailed), through the Keras model and through the compiled
hls4ml model (`result.hls_model.predict` calls the g++-built library)."""),
    ("code", """\
rng = np.random.default_rng(7)
x = (rng.standard_t(df=3, size=(2000, 16)) * 2.0).astype(np.float32)
y_keras = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
y_hls = np.asarray(result.hls_model.predict(x), dtype=np.float64).reshape(y_keras.shape)
diff = np.abs(y_keras - y_hls)
print(f"max |keras - hls| over {len(x)} samples x {y_keras.shape[1]} outputs: {diff.max()}")
print("argmax agreement:", np.mean(y_keras.argmax(1) == y_hls.argmax(1)))
assert diff.max() == 0.0"""),
    ("code", """\
fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(y_keras.ravel(), y_hls.ravel(), s=4, alpha=0.4)
lims = [min(y_keras.min(), y_hls.min()), max(y_keras.max(), y_hls.max())]
ax.plot(lims, lims, "k--", lw=1)
ax.set_xlabel("Keras (HGQ2) logit")
ax.set_ylabel("hls4ml C-simulation logit")
ax.set_title("every point on the diagonal: bit-exact")
plt.show()"""),
    ("md", """\
## What the surrogate expects it to cost

Every build records the surrogate's estimate (before any synthesis). `ood` says whether the
design lies outside the data the surrogate was trained on; then the number is the analytic
model's alone and the interval is wide. Synthesis numbers would need Vivado/Vitis HLS."""),
    ("code", """\
est = report["estimate"]
print("outside the training data:", est["ood"])
pd.DataFrame(est["estimates"]).T"""),
    ("code", """print((result.output_dir / "report.md").read_text()[:3000])"""),
]

DESIGN_EXPLORATION = [
    ("md", """\
# 2. Design-space exploration with the surrogate

`fpgaml.compiler.explore.explore` prices every combination of reuse factor, precision and
strategy with the cost surrogate: one hls4ml conversion per precision/strategy, every reuse
factor re-timed analytically, so a sweep takes seconds. Each row gets the six targets with
90% intervals, the share of the part, `fits` (every resource <= 100% of the part at the
*upper* interval bound), and `pareto` (not dominated in max-resource-% vs latency).

The same is on the command line:
`fpgaml explore --example jet_tagger --reuse-factor 1,2,4,8 --strategy latency,resource --out DIR`."""),
    ("code", SETUP),
    ("code", """\
from fpgaml.compiler.explore import explore, summary_columns, validate, write_pareto_png

model = fpgaml.example("jet_tagger")
df = explore(model, reuse_factor=[1, 2, 4, 8, 16, 32, 64], strategy=["latency", "resource"], part="xcu250")
df[summary_columns(df)]"""),
    ("md", """\
Some configurations cannot be built: hls4ml's resource strategy needs the reuse factor to
fit every layer's shape. Those rows stay in the table with NaN estimates and the reason."""),
    ("code", """df.loc[df["lut"].isna(), ["reuse_factor", "strategy", "ood_reason"]]"""),
    ("md", "## The Pareto plot\n\n`write_pareto_png` is what `fpgaml explore` writes as `pareto.png`."),
    ("code", """\
from IPython.display import Image, display

png = write_pareto_png(df, WORK / "jet_tagger_pareto.png", "xcu250")
display(Image(filename=str(png)))"""),
    ("md", """\
## Reuse factor against resources and latency, with intervals

More reuse means fewer parallel multipliers (fewer LUTs here: the HGQ2 weights are narrow
enough that multiplications become LUT logic, not DSPs) and more cycles."""),
    ("code", """\
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for strategy, part_df in df.dropna(subset=["lut"]).groupby("strategy"):
    for ax, target in zip(axes, ["lut", "latency_cycles"]):
        ax.errorbar(part_df["reuse_factor"], part_df[target],
                    yerr=[part_df[target] - part_df[f"{target}_low"], part_df[f"{target}_high"] - part_df[target]],
                    marker="o", capsize=3, label=strategy)
for ax, label in zip(axes, ["LUT (90% interval)", "latency (cycles, 90% interval)"]):
    ax.set_xscale("log", base=2); ax.set_yscale("log")
    ax.set_xlabel("reuse factor"); ax.set_ylabel(label); ax.legend(); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()"""),
    ("md", """\
## Precision matters when the model does not fix it

HGQ2 quantizers fix every layer's bit widths, so the `precision` option changes nothing for
`jet_tagger`. A dense architecture string (`16-64-32-32-5`, every width at `precision`) shows
the effect: 16-bit products go to DSPs, 8-bit ones to LUTs. On a small part (ZU7EV, 1728
DSPs) that decides what fits."""),
    ("code", """\
dense = explore("16-64-32-32-5", reuse_factor=[1, 2, 4, 8, 16, 32],
                precision=["ap_fixed<16,6>", "ap_fixed<8,3>"], strategy="latency", part="xczu7ev")
dense[summary_columns(dense) + ["dsp_pct", "lut_pct"]]"""),
    ("code", """\
png = write_pareto_png(dense, WORK / "dense_pareto.png", "xczu7ev")
display(Image(filename=str(png)))"""),
    ("md", """\
## Checking the best Pareto design for real

`validate` builds the K best Pareto configurations (the fastest that fit first) with
`fpgaml.build` and puts predicted beside measured. What is measured here is **correctness**
(g++ C-simulation, bit-exact). Resource counts of the hls4ml design need Vivado/Vitis HLS
(`hls_*` columns, NaN without it). For small HGQ2 models `validate` also runs Yosys on the
da4ml RTL (`open_*`), a different, fully parallel circuit; jet_tagger is above that size
limit, so those columns are NaN here. `measured_by` says which tool produced what."""),
    ("code", """\
checked = validate(model, df, k=1, out_dir=WORK / "validate")
checked[["reuse_factor", "strategy", "pred_lut", "hls_lut", "open_lut", "pred_latency_cycles",
         "hls_latency_cycles", "csim_bit_exact", "csim_max_abs_diff"]]"""),
    ("code", """\
assert checked["csim_bit_exact"].all()
print(checked["measured_by"].iloc[0])"""),
]

TRANSFORMER = [
    ("md", """\
# 3. A small transformer: jet_transformer

`fpgaml.example('jet_transformer')` is an HGQ2 particle transformer: 16 constituents x 6
features, 2 encoder blocks with 2-head attention, LayerNorm (fpgaml's own HLS layer) and a
5-class head. This notebook estimates it, builds it (hls4ml + g++; the compile takes about
40-60 s) and checks the C++ against Keras bit for bit."""),
    ("code", SETUP),
    ("code", """\
model = fpgaml.example("jet_transformer")
model.summary(line_length=110)"""),
    ("md", """\
## Estimate before building

The surrogate was trained on dense networks; attention and LayerNorm are outside its data,
so expect `ood` with the reason, and the analytic model's number with a wide interval."""),
    ("code", """\
est = fpgaml.predict(model, part="xcu250")
print(est.to_text())"""),
    ("md", "## Build and C-simulate (about a minute)"),
    ("code", """\
import time

t0 = time.perf_counter()
result = fpgaml.build(model, WORK / "jet_transformer", part="xcu250")
print(f"built in {time.perf_counter() - t0:.0f} s:", {k: round(v, 1) for k, v in result.report["timing"].items()})
result.report["csim"]"""),
    ("code", """\
csim = result.report["csim"]
assert csim["bit_exact"] and csim["max_abs_diff"] == 0.0
layers = pd.DataFrame(result.report["model"]["layers"])
print(layers["class"].value_counts().to_string())
layers.head(20)"""),
    ("md", "## Bit-check on fresh inputs, and what the classifier outputs look like"),
    ("code", """\
rng = np.random.default_rng(11)
x = rng.normal(0.0, 1.5, size=(300, 16, 6)).astype(np.float32)
y_keras = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
y_hls = np.asarray(result.hls_model.predict(x), dtype=np.float64).reshape(y_keras.shape)
print("max |keras - hls|:", np.abs(y_keras - y_hls).max())
assert np.array_equal(y_keras, y_hls)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(y_hls.argmax(1), bins=np.arange(6) - 0.5, rwidth=0.8)
ax.set_xlabel("predicted class (untrained, seeded weights)"); ax.set_ylabel("samples")
ax.set_title("jet_transformer C-simulation: class of 300 random inputs")
plt.show()"""),
]

NOTEBOOKS = {
    "01_build_and_bitcheck.ipynb": BUILD_AND_BITCHECK,
    "02_design_exploration.ipynb": DESIGN_EXPLORATION,
    "03_transformer.ipynb": TRANSFORMER,
}


def make(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook with no outputs, pinned to the default Python 3 kernel (the running venv's)."""
    nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = make(cells)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()

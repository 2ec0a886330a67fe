"""report.json (for programs) and report.md (for people), written from one dictionary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def model_layers(model_graph: Any) -> list[dict]:
    """Per-layer facts read from the converted ModelGraph (the one IR every stage reads)."""
    layers = []
    for layer in model_graph.get_layers():
        inp, out = layer.get_input_variable(), layer.get_output_variable()
        layers.append(
            {
                "name": layer.name,
                "class": layer.class_name,
                "input_shape": list(inp.shape) if inp is not None else None,
                "output_shape": list(out.shape) if out is not None else None,
                "precision": str(out.type.precision) if out is not None else None,
                "reuse_factor": layer.get_attr("reuse_factor"),
            }
        )
    return layers


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "x".join(map(str, value))
    return "" if value is None else str(value)


def _table(rows: list[dict], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def render_markdown(report: dict) -> str:
    """A one-page summary: configuration, C-sim verdict, layers, timings, synthesis if run."""
    model, cfg = report["model"], report["config"]
    lines = [
        f"# fpgaml build: {model['name']} ({report.get('flow', 'hls')} flow)",
        "",
        f"Source: {model['source_format']}, {model['n_params']} parameters. "
        f"fpgaml {report['fpgaml_version']}, hls4ml {report['hls4ml_version']}.",
        "",
        "## Configuration",
        "",
        *_table([cfg], list(cfg)),
        "",
    ]
    csim = report.get("csim")
    if csim:
        verdict = "bit-exact" if csim["bit_exact"] else f"max |diff| {csim['max_abs_diff']:.6g}"
        lines += ["## C-simulation", "", f"{csim['n_samples']} samples: **{verdict}**, argmax agreement "
                  f"{_fmt(csim['argmax_agreement']) or 'n/a'}.", ""]
    estimate = (report.get("estimate") or {}).get("estimates")
    if estimate:
        rows = [{"target": k, **v} for k, v in estimate.items()]
        lines += ["## Estimate (surrogate, before synthesis)", "", *_table(rows, ["target", "value", "low", "high"]), ""]
        if report["estimate"].get("ood"):
            lines += [f"Outside the training data: {report['estimate'].get('ood_reason')}", ""]
    synth = report.get("synthesis")
    if synth:
        lines += ["## Synthesis", "", *_table([synth], [k for k in synth if not isinstance(synth[k], dict)]), ""]
    from .rtl.report_io import markdown_sections

    lines += markdown_sections(report)
    lines += ["## Layers", "", *_table(model["layers"], ["name", "class", "input_shape", "output_shape",
                                                          "precision", "reuse_factor"]), ""]
    lines += ["## Timing (s)", "", *_table([report["timing"]], list(report["timing"])), ""]
    return "\n".join(lines)


def refresh_markdown(out_dir: Path, report: dict) -> None:
    """Re-render report.md after a later step (sim, synth) merged a section into report.json."""
    (out_dir / "report.md").write_text(render_markdown(report))


def write_reports(out_dir: Path, report: dict) -> None:
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    refresh_markdown(out_dir, report)

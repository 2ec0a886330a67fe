"""Shared fixtures: small real models saved the way users save them, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURES = Path(__file__).parent / "fixtures"
FPGAML = Path(sys.executable).parent / "fpgaml"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed `fpgaml` console script as a user would."""
    return subprocess.run([str(FPGAML), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny Keras models saved to .keras: a plain MLP, one with an unsupported layer, one
    with a Lambda layer (code in the file), each seeded."""
    from fpgaml.compiler.frontends.tensorflow_runtime import import_keras_quietly

    import_keras_quietly()
    import keras

    out = tmp_path_factory.mktemp("keras_files")
    keras.utils.set_random_seed(1)

    def mlp(name: str, extra=None) -> keras.Model:
        inp = keras.Input((8,), name="x")
        h = keras.layers.Dense(8, activation="relu", name="hidden")(inp)
        if extra is not None:
            h = extra(h)
        return keras.Model(inp, keras.layers.Dense(3, name="out")(h), name=name)

    models = {
        "mlp": mlp("tiny_mlp"),
        "unsupported": mlp("with_unitnorm", keras.layers.UnitNormalization(name="unit_norm")),
        "lambda": mlp("with_lambda", keras.layers.Lambda(lambda t: t * 2.0, name="doubler")),
    }
    seq = keras.Input((4, 8), name="tokens")
    normed = keras.layers.LayerNormalization(name="layer_norm")(seq)
    models["layernorm_axis"] = keras.Model(seq, keras.layers.Dense(3, name="out")(normed), name="keras_layernorm")
    paths = {}
    for key, model in models.items():
        paths[key] = out / f"{key}.keras"
        model.save(paths[key])
    return paths

"""Option validation: precision strings, parts, config files (no hls4ml needed)."""

from __future__ import annotations

import pytest

from fpgaml.compiler.errors import UserError
from fpgaml.compiler.options import BuildOptions, load_config_file, validate_precision
from fpgaml.compiler.parts import PARTS, resolve_part


@pytest.mark.parametrize("text,canonical", [
    ("ap_fixed<16,6>", "ap_fixed<16,6>"),
    ("fixed<8, 3>", "ap_fixed<8, 3>"),
    ("ap_ufixed<4,1,AP_RND_CONV,AP_SAT>", "ap_ufixed<4,1,AP_RND_CONV,AP_SAT>"),
    ("ap_fixed<18,8,AP_TRN,AP_WRAP,0>", "ap_fixed<18,8,AP_TRN,AP_WRAP,0>"),
    ("ap_int<8>", "ap_int<8>"),
    ("ap_uint<1>", "ap_uint<1>"),
])
def test_valid_precisions(text, canonical):
    assert validate_precision(text) == canonical


@pytest.mark.parametrize("text", ["ap_fixed<16", "float", "ap_fixed<0,0>", "ap_fixed<2000,6>", "ap_fixed<16,6>;rm",
                                  "ap_fixed<16,6,AP_FOO>", "auto", "ap_fixed<a,b>", ""])
def test_invalid_precisions(text):
    with pytest.raises(UserError, match="precision"):
        validate_precision(text)


def test_every_alias_resolves_to_a_full_part_of_its_device():
    for alias, part in PARTS.items():
        full, info = resolve_part(alias)
        assert full.startswith(alias + "-") and info is part
        assert resolve_part(full)[0] == full


def test_full_part_names_of_known_devices_are_accepted():
    assert resolve_part("xcvu9p-flgb2104-1-e")[1].device == "xcvu9p"
    with pytest.raises(UserError, match="unknown part"):
        resolve_part("xcku115-flvb2104-2-e")
    with pytest.raises(UserError, match="unknown part"):
        resolve_part("xcvu13p; rm -rf /")


def test_option_errors_are_user_errors():
    with pytest.raises(UserError, match="reuse factor"):
        BuildOptions(reuse_factor=0)
    with pytest.raises(UserError, match="io type"):
        BuildOptions(io="serial")
    with pytest.raises(UserError, match="unknown option"):
        BuildOptions.from_mapping({"reuse": 2})


def test_config_file(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text("reuse_factor: 8\nstrategy: resource\nHLSConfig:\n  Model:\n    BramFactor: 100\n")
    assert load_config_file(good) == {"reuse_factor": 8, "strategy": "resource",
                                      "hls_config": {"Model": {"BramFactor": 100}}}
    typo = tmp_path / "typo.yml"
    typo.write_text("reuse_factr: 8\n")
    with pytest.raises(UserError, match="reuse_factr"):
        load_config_file(typo)
    broken = tmp_path / "broken.yml"
    broken.write_text("a: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config_file(broken)

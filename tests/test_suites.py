"""Metric declarations and suites: one home for names, directions and meanings."""

import pytest

from gennet.eval import protocol  # noqa: F401  (binds each suite's compute function)
from gennet.eval.suites import SUITES, Metric, column_keys, describe, register_suite, suites_for
from gennet.viz.report_format import sample_count_note


def test_suites_are_registered_bound_and_need_a_capability():
    order = ["reconstruction", "likelihood", "translation", "sample", "path_length"]
    assert list(SUITES) == order  # evaluation order
    needs = {"reconstruct", "likelihood", "translate", "sample", "style_mix"}
    assert {s.needs for s in SUITES.values()} == needs
    assert all(callable(s.compute) for s in SUITES.values())
    assert [s.name for s in suites_for({"sample", "reconstruct", "encode"})] == ["reconstruction", "sample"]


def test_each_metric_declared_once_with_a_direction():
    assert describe("fid").direction == "lower" and describe("recall").direction == "higher"
    assert describe("iw_k").direction is None and describe("no_such_metric") is None
    assert describe("ppl_w").direction == "lower"
    assert "not the paper's VGG16-LPIPS" in describe("ppl_z").description
    assert column_keys()[:3] == ("fid", "kid", "precision") and "kid_std" not in column_keys()
    with pytest.raises(ValueError):
        register_suite("again", "sample", "fid twice", [Metric("fid", "FID", "lower", "again")])
    with pytest.raises(ValueError):
        Metric("x", "x", "sideways", "bad direction")


def test_report_names_the_n_behind_fid():
    note = sample_count_note({"protocol": {"samples": 500, "reference_images": 1000}}, ["fid", "kid"])
    assert "n = 500" in note and "1000 reference images" in note
    assert sample_count_note({"protocol": {"samples": 500}}, ["recon_mse"]) is None

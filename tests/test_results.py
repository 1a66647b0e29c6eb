"""Tests of the results store and the statistics over seeds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from experiments.results import ResultStore, format_table, load_records, write_report
from experiments.runner import run_experiment
from experiments.statistics import (
    BELOW_RANDOM_FLAG,
    SingleSeedWarning,
    bootstrap_ci,
    interpolate_curve,
    interquartile_mean,
    summarize,
)
from test_runner import STANDINS, tiny_config


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    run_experiment(tiny_config(seeds=4), out, backend="serial", **STANDINS)
    return out


def test_bootstrap_interval_contains_mean():
    rng = np.random.default_rng(3)
    for _ in range(20):
        values = rng.normal(100.0, 15.0, size=5)
        low, high = bootstrap_ci(values)
        assert low <= values.mean() <= high
        assert low >= values.min()
        assert high <= values.max()


def test_bootstrap_fixed_generator_repeats():
    values = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    assert bootstrap_ci(values) == bootstrap_ci(values)


def test_bootstrap_degenerate_cases():
    assert bootstrap_ci(np.array([3.0, 3.0, 3.0])) == (3.0, 3.0)
    low, high = bootstrap_ci(np.array([3.0]))
    assert np.isnan(low)
    assert np.isnan(high)


def test_bootstrap_columns():
    matrix = np.array([[1.0, 5.0, 2.0], [2.0, 5.0, np.nan], [4.0, 5.0, 3.0]])
    low, high = bootstrap_ci(matrix)
    assert low[0] <= matrix[:, 0].mean() <= high[0]
    assert (low[1], high[1]) == (5.0, 5.0)
    assert np.isnan(low[2])
    assert np.isnan(high[2])


def test_interquartile_mean_exact():
    # With 8 values, 2 are trimmed from each end: the mean of 2, 3, 4, 5.
    assert interquartile_mean(np.array([100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -50.0])) == 3.5
    assert np.isnan(interquartile_mean(np.array([])))


def test_interpolate_curve_grid():
    grid = np.array([0.0, 50.0, 100.0, 150.0])
    values = interpolate_curve(np.array([0.0, 40.0, 120.0]), np.array([0.0, 4.0, 12.0]), grid)
    np.testing.assert_allclose(values[:3], [0.0, 5.0, 10.0])
    assert np.isnan(values[3])


def test_summary_regret_and_intervals(finished_sweep):
    summary = write_report(finished_sweep, figures=False)
    table = summary.table
    assert list(table["label"]) == ["oracle", "best-fixed", "random", "greedy"]
    np.testing.assert_allclose(table["regret"], table["oracle_revenue"] - table["revenue"])
    assert (table["revenue_low"] <= table["revenue"]).all()
    assert (table["revenue"] <= table["revenue_high"]).all()
    assert (table["share_low"] <= table["share_of_oracle"]).all()
    assert (table["share_of_oracle"] <= table["share_high"]).all()
    finite = table["cumulative_regret_low"].notna()
    assert (table.loc[finite, "cumulative_regret_low"] <= table.loc[finite, "cumulative_regret"]).all()
    assert (table["n_seeds"] == 4).all()

    curves = summary.curves
    assert sorted(curves["step"].unique()) == [0.0, 32.0, 64.0, 96.0]
    assert (curves["revenue_low"] <= curves["revenue_mean"] + 1e-9).all()
    assert (curves["revenue_mean"] <= curves["revenue_high"] + 1e-9).all()
    start = curves[curves["step"] == 0]
    assert (start["cumulative_regret_mean"] == 0.0).all()

    for name in ("summary.csv", "summary.md", "curves.csv"):
        assert (finished_sweep / name).is_file()
    assert "| oracle |" in (finished_sweep / "summary.md").read_text()


def test_summary_matches_records(finished_sweep):
    records = load_records(finished_sweep)
    summary = summarize(records)
    final = records.evaluations[records.evaluations["eval_index"] == 3]
    expected = final.groupby("label")["revenue"].mean()
    for _, row in summary.table.iterrows():
        assert row["revenue"] == pytest.approx(expected[row["label"]])

    # Cumulative regret of a run: the oracle's mean revenue minus realized revenue, summed
    # over training episodes; the table averages it over seeds.
    totals = []
    for run_id in sorted(records.training.loc[records.training["label"] == "greedy", "run_id"].unique()):
        episodes = records.training[records.training["run_id"] == run_id]
        oracle = records.evaluations.loc[records.evaluations["run_id"] == run_id, "oracle_revenue"].mean()
        totals.append(float((oracle - episodes["episode_revenue"]).sum()))
    table = summary.table.set_index("label")
    assert table.loc["greedy", "cumulative_regret"] == pytest.approx(np.mean(totals))


def test_single_seed_warns(tmp_path):
    run_experiment(tiny_config(seeds=[3]), tmp_path, backend="serial", **STANDINS)
    with pytest.warns(SingleSeedWarning, match="only 1 seed, so no confidence interval"):
        summary = summarize(load_records(tmp_path))
    assert summary.table["revenue_low"].isna().all()
    assert "[no CI]" in format_table(summary.table)


def test_below_random_flagged(tmp_path):
    # A greedy agent pinned to the highest price (expected 4.7 per period) earns less than
    # the random baseline (expected 16.1 per period).
    config = tiny_config(seeds=2, agents=[{"name": "greedy", "label": "cheap", "hyperparams": {"fixed_action": 4}}])
    run_experiment(config, tmp_path, backend="serial", **STANDINS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = summarize(load_records(tmp_path)).table.set_index("label")
    assert table.loc["cheap", "flag"] == BELOW_RANDOM_FLAG
    assert table.loc["oracle", "flag"] == ""
    assert table.loc["random", "flag"] == ""
    assert BELOW_RANDOM_FLAG in format_table(table.reset_index())


def test_table_formats(finished_sweep):
    table = summarize(load_records(finished_sweep)).table
    plain = format_table(table).splitlines()
    assert plain[0].startswith("Agent")
    assert len(plain) == 2 + len(table)
    markdown = format_table(table, markdown=True).splitlines()
    assert markdown[0].startswith("| Agent | Revenue [95% CI] |")
    assert all(line.startswith("|") for line in markdown)


def test_figures_written(finished_sweep):
    write_report(finished_sweep, figures=True)
    for name in ("revenue", "cumulative_regret", "final_revenue", "prices"):
        for extension in ("png", "svg"):
            path = finished_sweep / "figures" / f"{name}.{extension}"
            assert path.is_file()
            assert path.stat().st_size > 1000


def test_load_without_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a results folder"):
        load_records(tmp_path)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    store = ResultStore(tmp_path)
    store._write_json(tmp_path / "a.json", {"x": 1})

    def failing_writer(tmp):
        tmp.write_text("partial")
        raise OSError("disk full")

    from experiments.results import _atomic_write

    with pytest.raises(OSError, match="disk full"):
        _atomic_write(tmp_path / "a.json", failing_writer)
    assert (tmp_path / "a.json").read_text().strip() == '{\n  "x": 1\n}'
    assert [path.name for path in tmp_path.iterdir()] == ["a.json"]


@pytest.mark.parametrize("text", ["{bad", "[]"])
def test_corrupt_manifest_named(finished_sweep, tmp_path, text):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    (out / "manifest.json").write_text(text)
    with pytest.raises(ValueError, match=r"manifest\.json is corrupt .*delete .*manifest\.json and rerun"):
        load_records(out)


def test_corrupt_run_files_named(finished_sweep, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    run_dir = sorted((out / "runs").iterdir())[0]
    (run_dir / "evaluations.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match=r"evaluations\.parquet is unreadable .*delete the folder .*redo that run"):
        load_records(out)

    (run_dir / "run.json").write_text("{bad")
    with pytest.raises(ValueError, match=r"run\.json is corrupt .*delete the folder"):
        load_records(out)


def test_unwritable_folder_named(tmp_path):
    from experiments.results import _atomic_write

    def denied_writer(tmp):
        raise PermissionError(13, "Permission denied", str(tmp))

    with pytest.raises(PermissionError, match=r"cannot write to the folder .* \(Permission denied\); make it writable"):
        _atomic_write(tmp_path / "summary.csv", denied_writer)
    assert list(tmp_path.iterdir()) == []


def test_missing_seeds_warned(finished_sweep, tmp_path):
    import shutil

    from experiments.results import MissingSeedsWarning

    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    run_dir = sorted((out / "runs").iterdir())[-1]
    label = run_dir.name.split("__seed-")[0]
    shutil.rmtree(run_dir)
    with pytest.warns(MissingSeedsWarning, match=rf"{label}: 3 of 4 seeds finished.*rerun the same command"):
        write_report(out, figures=False)

    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingSeedsWarning)
        write_report(finished_sweep, figures=False)


def test_foreign_output_folder_rejected(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"output folder .*out is not empty and is not a results folder"):
        run_experiment(tiny_config(seeds=1), out, backend="serial", **STANDINS)
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]

    # A run killed before its first manifest write leaves only runs/ and a temporary file.
    leftover = tmp_path / "leftover"
    (leftover / "runs").mkdir(parents=True)
    (leftover / ".manifest.json.tmp-123").write_text("{")
    run_experiment(tiny_config(seeds=1), leftover, backend="serial", **STANDINS)
    assert (leftover / "manifest.json").is_file()

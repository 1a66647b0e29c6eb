"""Tests of the ``pricing-sim`` command line on the real market and agents, with tiny budgets."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

import envs
from agents.registry import available_agents
from experiments.cli import COMMANDS, build_parser, main
from experiments.config import CONFIG_DIR

TINY = CONFIG_DIR / "tiny.toml"


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_every_command_registered():
    parser = build_parser()
    registered = set(parser._subparsers._group_actions[0].choices)
    assert {"compare", "run", "plot", "list", "tune"} <= registered
    assert registered <= set(COMMANDS)


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("compare", ["--config FILE", "--seeds N", "--out DIR", "--backend", "--workers N", "--address ADDR"]),
        ("run", ["CONFIG", "--seeds N", "--out DIR", "--backend", "--workers N"]),
        ("plot", ["RUN_DIR"]),
        ("list", []),
        ("tune", ["CONFIG", "--agent NAME", "--trials N", "--holdout-seeds N", "--sampler-seed SEED"]),
    ],
)
def test_help_lists_flags(capsys, command, flags):
    text = help_text(capsys, command)
    assert text.startswith(f"usage: pricing-sim {command}")
    for flag in flags:
        assert flag in text


def test_list_one_line_each(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[1] for line in lines]
    for env_id in envs.ENV_IDS:
        assert env_id in names
    for agent in available_agents():
        assert agent in names
    assert "compare" in names
    assert all(line.split()[0] in ("env", "agent", "config") for line in lines)


def test_run_tiny_end_to_end(tmp_path, capsys):
    out = tmp_path / "tiny"
    status = main(["run", str(TINY), "--out", str(out), "--backend", "serial", "--no-progress"])
    captured = capsys.readouterr()
    assert status == 0, captured.err

    assert "epsilon-greedy" in captured.out
    assert "q-learning" in captured.out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert len(manifest["runs"]) == 5 * 2
    for name in ("summary.csv", "summary.md", "curves.csv", "figures/revenue.png", "figures/final_revenue.svg"):
        assert (out / name).is_file()

    table = pd.read_csv(out / "summary.csv")
    assert (table["revenue_low"] <= table["revenue"]).all()
    assert (table["revenue"] <= table["revenue_high"]).all()
    evaluations = pd.concat(pd.read_parquet(path) for path in (out / "runs").glob("*/evaluations.parquet"))
    pd.testing.assert_series_equal(
        evaluations["regret"], evaluations["oracle_revenue"] - evaluations["revenue"], check_names=False
    )
    # The oracle's evaluation revenue on the same episodes is the oracle's expectation plus noise.
    oracle = table.set_index("label").loc["oracle"]
    assert oracle["share_of_oracle"] == pytest.approx(1.0, abs=0.1)

    # Rerunning skips every run; plotting rebuilds the table from the records.
    assert main(["run", str(TINY), "--out", str(out), "--backend", "serial", "--no-progress"]) == 0
    assert "skipped 10 runs" in capsys.readouterr().err
    shutil.rmtree(out / "figures")
    assert main(["plot", str(out)]) == 0
    assert (out / "figures" / "prices.svg").is_file()


def test_compare_seed_override(tmp_path, capsys):
    out = tmp_path / "one-seed"
    status = main(["compare", "--config", str(TINY), "--seeds", "1", "--out", str(out), "--backend", "serial",
                   "--no-progress", "--no-figures"])
    err = capsys.readouterr().err
    assert status == 0
    assert "only 1 seed, so no confidence interval" in err
    assert json.loads((out / "manifest.json").read_text())["seeds"] == [0]
    assert not (out / "figures").exists()


def test_invalid_config_names_path(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(
        'seeds = 2\n[training]\nsteps = 10\n[evaluation]\nevery = 5\n'
        '[[agents]]\nname = "ucb1"\n[[agents]]\nname = "epsilon-greedy"\n'
        '[[agents]]\nname = "q-learning"\nhyperparams = { learning_rate = 0.1 }\n'
    )
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"invalid experiment config in {path}:" in err
    assert "agents[2].hyperparams.learning_rate: unknown hyperparameter(s) 'learning_rate'" in err
    assert "(value 0.1)" in err
    assert not (tmp_path / "out").exists()


def test_field_and_agent_errors_together(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(
        'seeds = 2\n[training]\nsteps = 0\n[evaluation]\nevery = 5\n'
        '[[agents]]\nname = "ucb1"\nextra = 1\n[[agents]]\nname = "no-such-agent"\n'
        '[[agents]]\nname = "q-learning"\nhyperparams = { learning_rate = 0.1 }\n'
    )
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.splitlines()
    start = lines.index(f"pricing-sim run: error: invalid experiment config in {path}:")
    paths = [line.split(":")[0].strip() for line in lines[start + 1:] if line.startswith("  ")]
    # Field errors come first, in field order, then the agents that the registry rejects.
    assert paths == ["agents[0].extra", "training.steps", "agents[1].name", "agents[2].hyperparams.learning_rate"]
    assert not (tmp_path / "out").exists()


def test_invalid_arguments_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--seeds", "0"])
    assert exit_info.value.code == 2
    assert "expected an integer >= 1, got 0" in capsys.readouterr().err

    assert main(["plot", str(tmp_path)]) == 2
    assert "is not a results folder" in capsys.readouterr().err

    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_tune_holds_out_seeds(tmp_path, capsys):
    argv = ["tune", str(TINY), "--agent", "ucb1", "--trials", "3", "--search-seeds", "1", "--holdout-seeds", "2",
            "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    output = capsys.readouterr().out
    assert "held-out seeds 1, 2:" in output
    assert 'name = "ucb1"' in output
    assert "hyperparams = { exploration = " in output

    best = json.loads((tmp_path / "a" / "best.json").read_text())
    assert best["search_seeds"] == [0]
    assert best["holdout_seeds"] == [1, 2]
    assert len(best["holdout_best"]["per_seed"]) == 2
    trials = pd.read_csv(tmp_path / "a" / "trials.csv")
    assert len(trials) == 3

    # The seeded sampler proposes the same trials again.
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    again = json.loads((tmp_path / "b" / "best.json").read_text())
    assert again["best_params"] == best["best_params"]


def test_tune_unknown_space(tmp_path, capsys):
    assert main(["tune", str(TINY), "--agent", "random", "--trials", "1", "--out", str(tmp_path)]) == 2
    assert "no search space for agent 'random'; add a [tune.random.<hyperparameter>] table" in capsys.readouterr().err


def test_tune_bad_agent_named(tmp_path, capsys):
    argv = ["tune", str(TINY), "--trials", "1", "--out", str(tmp_path)]
    assert main([*argv, "--agent", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--agent 'nope' is neither a label of the config (oracle, best-fixed, random" in err
    assert "nor a registered agent (oracle, best-fixed, fixed" in err

    assert main([*argv, "--agent", "sac"]) == 2
    err = capsys.readouterr().err
    assert f"--agent 'sac' cannot be built on the market of {TINY}: agent 'sac' rejected its settings" in err
    assert "baseline" not in err


def test_tune_file_out_rejected_first(tmp_path, capsys, monkeypatch):
    import experiments.tuning

    def fail_tune(*args, **kwargs):
        raise AssertionError("tuning ran before --out was checked")

    monkeypatch.setattr(experiments.tuning, "tune", fail_tune)
    (tmp_path / "taken").write_text("keep me")
    argv = ["tune", str(TINY), "--agent", "ucb1", "--trials", "1", "--out", str(tmp_path / "taken")]
    assert main(argv) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "keep me"


def test_verbose_flag_after_command(capsys):
    assert main(["list", "-v"]) == 0
    assert "PricingSim/SingleProduct-v0" in capsys.readouterr().out
    args = build_parser().parse_args(["list", "-v"])
    assert args.verbose is True
    assert build_parser().parse_args(["list"]).verbose is False

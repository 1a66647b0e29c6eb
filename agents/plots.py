"""Pictures of what a tabular agent learned: the Q-table heatmap and the learned price path.

Both functions return a matplotlib ``Figure`` built without pyplot, so they work in scripts
and on machines without a display; save one with ``figure.savefig("q_table.png")``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from matplotlib.figure import Figure

from agents.tabular import TabularAgent


def _price_labels(agent: TabularAgent, price_grid: np.ndarray | None) -> list[str]:
    if price_grid is None:
        return [str(a) for a in range(agent.n_actions)]
    grid = np.asarray(price_grid, dtype=np.float64).ravel()
    if grid.size != agent.n_actions:
        raise ValueError(f"price_grid has {grid.size} prices but the agent has {agent.n_actions} actions")
    return [f"{p:g}" for p in grid]


def plot_q_table(
    agent: TabularAgent,
    price_grid: np.ndarray | None = None,
    only_visited: bool = True,
    title: str | None = None,
) -> Figure:
    """Draw Q(state, price) as a heatmap, one row per state, with the greedy price marked.

    Args:
        agent: a trained Q-learning, SARSA or Double Q-learning agent.
        price_grid: the market's prices (``env.unwrapped.price_grid``) for the column labels;
            without it the columns show action indices.
        only_visited: draw only states in which the agent updated at least one price, since
            unvisited rows hold nothing but the initial value.
        title: the figure title; a default names the agent and its table size.
    """
    values = np.array([agent.action_values(s) for s in range(agent.n_states)])
    visits = agent.visits.sum(axis=1)
    if hasattr(agent, "visits_b"):
        visits = visits + agent.visits_b.sum(axis=1)
    states = np.flatnonzero(visits > 0) if only_visited else np.arange(agent.n_states)
    if states.size == 0:
        raise ValueError("the agent has not visited any state yet; train it before plotting its Q-table")

    state_labels = agent.discretizer.state_labels()
    columns = _price_labels(agent, price_grid)
    shown_values = values[states]

    height = min(2.0 + 0.35 * states.size, 14.0)
    figure = Figure(figsize=(max(6.0, 0.45 * len(columns) + 3.0), height), layout="constrained")
    ax = figure.add_subplot()
    image = ax.imshow(shown_values, aspect="auto", cmap="viridis", interpolation="nearest")
    figure.colorbar(image, ax=ax, label="Q(state, price): discounted revenue (currency)")

    # One marker per row on the greedy price (lowest index on ties, as act(deterministic=True)).
    greedy = [agent.greedy_action(int(s), break_ties_randomly=False) for s in states]
    ax.scatter(greedy, np.arange(states.size), marker="*", s=140, color="red", edgecolors="white")

    ax.set_xticks(np.arange(len(columns)), columns, rotation=90 if len(columns) > 12 else 0)
    ax.set_yticks(np.arange(states.size), [state_labels[s] for s in states])
    ax.set_xlabel("price" if price_grid is not None else "action")
    ax.set_ylabel("state (observation bins)")
    visited_percent = 100.0 * agent.visited_state_share
    default_title = (
        f"{agent.name}: {agent.n_states} states x {agent.n_actions} prices, {visited_percent:.0f}% of states "
        "visited\nred star: greedy price of the state"
    )
    ax.set_title(title or default_title, loc="left")
    return figure


def plot_price_path(
    agent: TabularAgent,
    env: gym.Env,
    seed: int = 0,
    periods: int | None = None,
    title: str | None = None,
) -> Figure:
    """Run one episode with the agent's greedy policy and draw the price it posts each period.

    The oracle's price for the same observations (``env.unwrapped.oracle()``) is drawn
    beside it when the market has an oracle. The episode is reset with ``seed``, so the
    figure repeats exactly.

    Args:
        agent: a trained tabular agent.
        env: the market the agent was trained on.
        seed: seed of the episode's ``reset``.
        periods: stop after this many periods (default: the whole episode).
        title: the figure title.
    """
    oracle = env.unwrapped.oracle() if hasattr(env.unwrapped, "oracle") else None
    # Tabular agents need a Discrete action space, so every action is an index into the grid.
    price_grid = np.asarray(env.unwrapped.price_grid, dtype=np.float64)
    observation, _ = env.reset(seed=seed)
    agent_prices: list[float] = []
    oracle_prices: list[float] = []
    revenue = 0.0
    oracle_revenue = 0.0

    while periods is None or len(agent_prices) < periods:
        if oracle is not None:
            oracle_action = oracle.act(observation)
            oracle_prices.append(float(price_grid[int(oracle_action)]))
        action = agent.act(observation, deterministic=True)
        observation, _, terminated, truncated, info = env.step(action)
        agent_prices.append(float(info["price"]))
        revenue += float(info["revenue"])
        oracle_revenue += float(info.get("oracle_revenue", np.nan))
        if terminated or truncated:
            break

    figure = Figure(figsize=(8.0, 4.0), layout="constrained")
    ax = figure.add_subplot()
    t = np.arange(1, len(agent_prices) + 1)
    ax.step(t, agent_prices, where="mid", label=f"{agent.name} (greedy), revenue {revenue:,.0f}")
    if oracle_prices:
        label = "oracle"
        if np.isfinite(oracle_revenue):
            label += f", expected revenue {oracle_revenue:,.0f}"
        ax.step(t, oracle_prices, where="mid", linestyle="--", color="black", label=label)
    ax.set_xlabel("period")
    ax.set_ylabel("posted price (currency)")
    margin = 0.05 * float(price_grid.max() - price_grid.min())
    ax.set_ylim(float(price_grid.min()) - margin, float(price_grid.max()) + margin)
    ax.legend(loc="best")
    ax.set_title(title or f"Learned price path, one episode (reset seed {seed})", loc="left")
    return figure

"""Tabular reinforcement learning: Q-learning, SARSA and Double Q-learning.

These agents keep one number per (state, price) pair, Q(s, a): an estimate of the
discounted revenue from posting price a in state s and acting well afterwards. Each
training step moves Q(s, a) a fraction alpha towards a *target* built from the observed
reward r and the next state s':

    Q-learning:   Q(s, a) <- Q(s, a) + alpha * (r + gamma * max_a' Q(s', a') - Q(s, a))
    SARSA:        Q(s, a) <- Q(s, a) + alpha * (r + gamma * Q(s', a') - Q(s, a)),
                  where a' is the action the agent will actually take in s'
    Double Q:     two tables, QA and QB. With probability 1/2 update QA with
                  QA(s, a) <- QA(s, a) + alpha * (r + gamma * QB(s', argmax_a' QA(s', a')) - QA(s, a)),
                  otherwise the same with QA and QB swapped. Using one table to pick a'
                  and the other to value it removes the upward bias of max over noisy
                  estimates.

Terminated versus truncated episodes. When an episode *terminates* (the product sold
out), there is no future revenue, so the target is just r. When an episode is *truncated*
(the simulation stopped at its horizon), the market itself would have continued: the
next state still has a value, so the target keeps the gamma * Q(s', .) term. Dropping it
on truncation would teach the agent that the last period before an arbitrary cut-off is
worth less than the others.

NOTE: when the discretizer gives the time left its own bins, the state after the last
period is never acted in, so its row keeps ``initial_value`` and the truncation bootstrap
adds gamma * initial_value: nothing with the default of 0, optimism otherwise.

States. Observations are mapped to rows of the table by a ``StateDiscretizer`` (bins per
observation component). Actions must be Discrete: action i posts the env's i-th grid price.

Exploration is epsilon-greedy with an epsilon schedule over environment steps; the step
size alpha follows a schedule over the visits of each (state, action) pair. Both are
described in ``agents.schedules``. ``initial_value`` above zero makes the agent optimistic:
every untried price looks good until tried, which drives systematic early exploration.

Besides the one-transition ``update`` (the reference implementation, written for reading),
``QLearningAgent.update_batch`` applies many transitions at once with numpy. Its docstring
says when its result equals the reference. ``QLearningAgent.learn_vectorized`` uses it to
train on many markets at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import BaseAgent, TrainingCallback
from agents.common import (
    SpacesOnly,
    load_npz,
    require_discrete_actions,
    require_env,
    rng_from_json,
    rng_state_to_json,
    save_npz,
    space_from_config,
    space_to_config,
    spaces_match,
)
from agents.discretize import StateDiscretizer
from agents.schedules import make_alpha_schedule, make_epsilon_schedule

# Keep 1 - alpha at least this large in the batch update's logarithms, so that alpha = 1
# (the first visit under 1/n) gives log(1e-12) instead of -inf. The weight it leaves on
# the old value, 1e-12, is below float64 rounding of typical Q-values.
_MIN_KEEP = 1e-12


MAX_TABLE_ENTRIES = 20_000_000
"""Largest Q-table (states x prices) an agent allocates: 160 MB per float64 table, so that a
mistyped ``bins`` fails with an error instead of exhausting memory."""


class TabularAgent(BaseAgent):
    """Shared machinery of the tabular agents: the table, exploration, schedules and files.

    Args:
        env: the market; only its spaces are used. Actions must be Discrete.
        seed: seed of the agent's own random generator (exploration and tie-breaking).
        gamma: discount factor per period, in [0, 1].
        alpha: step size for the constant schedule, and the cap for the others.
        alpha_schedule: "constant", "inverse-visits" (1/n) or "polynomial" (1/n**alpha_power).
        alpha_power: exponent of the polynomial alpha schedule, in (0.5, 1].
        epsilon_schedule: "constant", "linear" or "exponential".
        epsilon_start: exploration rate at step 0.
        epsilon_floor: exploration rate never goes below this.
        epsilon_decay_steps: steps to reach the floor (linear) or the time constant (exponential).
        initial_value: starting value of every Q entry; above the best reachable return
            makes the agent explore every price early (optimistic initial values).
        bins: bins per Box observation component (one int, or one per component).
        edges: explicit inner bin edges per Box observation component, instead of ``bins``.
    """

    name: ClassVar[str] = "tabular"
    description: ClassVar[str] = "tabular agent"

    def __init__(
        self,
        env: gym.Env,
        seed: int = 0,
        gamma: float = 0.9,
        alpha: float = 0.1,
        alpha_schedule: str = "polynomial",
        alpha_power: float = 0.8,
        epsilon_schedule: str = "exponential",
        epsilon_start: float = 1.0,
        epsilon_floor: float = 0.05,
        epsilon_decay_steps: float = 2000.0,
        initial_value: float = 0.0,
        bins: int | Sequence[int] = 10,
        edges: Sequence[Sequence[float]] | None = None,
    ):
        require_env(env, self.name)
        super().__init__(env.action_space, env.observation_space, seed)
        if not 0.0 <= float(gamma) <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        if not np.isfinite(initial_value):
            raise ValueError(f"initial_value must be finite, got {initial_value}")

        self.n_actions = require_discrete_actions(env.action_space, self.name)
        self.discretizer = StateDiscretizer(env.observation_space, bins=bins, edges=edges)
        self.n_states = self.discretizer.n_states
        if self.n_states * self.n_actions > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"bins {list(self.discretizer.bins_per_component)} give {self.n_states:,} states x "
                f"{self.n_actions} prices = {self.n_states * self.n_actions:,} Q-table entries, more than "
                f"the limit of {MAX_TABLE_ENTRIES:,}; use fewer bins per observation component"
            )

        self.gamma = float(gamma)
        self.initial_value = float(initial_value)
        self.epsilon = make_epsilon_schedule(epsilon_schedule, epsilon_start, epsilon_floor, epsilon_decay_steps)
        self.alpha = make_alpha_schedule(alpha_schedule, alpha, alpha_power)
        self.hyperparameters = {
            "gamma": self.gamma,
            "alpha": float(alpha),
            "alpha_schedule": alpha_schedule,
            "alpha_power": float(alpha_power),
            "epsilon_schedule": epsilon_schedule,
            "epsilon_start": float(epsilon_start),
            "epsilon_floor": float(epsilon_floor),
            "epsilon_decay_steps": float(epsilon_decay_steps),
            "initial_value": self.initial_value,
        }

        # q_table[s, a] estimates the discounted revenue of price a in state s.
        self.q_table = np.full((self.n_states, self.n_actions), self.initial_value, dtype=np.float64)
        # visits[s, a] counts the updates of q_table[s, a]; the alpha schedule reads it.
        self.visits = np.zeros((self.n_states, self.n_actions), dtype=np.int64)

    # ----------------------------------------------------------------- acting

    def state_of(self, observation: Any) -> int:
        """Return the Q-table row of an observation."""
        return self.discretizer.transform(observation)

    def action_values(self, state: int) -> np.ndarray:
        """Return the values the agent acts greedily on in ``state``."""
        return self.q_table[state]

    def greedy_action(self, state: int, break_ties_randomly: bool = True) -> int:
        """Return the price index with the highest value in ``state``.

        Ties are common early on (every entry starts at ``initial_value``). They are broken
        at random during training, so that no price is favoured by its position, and by the
        lowest index when acting deterministically, so that evaluation uses no randomness.
        """
        values = self.action_values(state)
        best_actions = np.flatnonzero(values == values.max())
        if break_ties_randomly and best_actions.size > 1:
            return int(self.rng.choice(best_actions))
        return int(best_actions[0])

    def epsilon_greedy_action(self, state: int, step: int) -> int:
        """With probability epsilon(step) a uniformly random price, else the greedy one."""
        if self.rng.random() < self.epsilon(step):
            return int(self.rng.integers(self.n_actions))
        return self.greedy_action(state)

    def act(self, observation: Any, deterministic: bool = False) -> int:
        state = self.state_of(observation)
        if deterministic:
            return self.greedy_action(state, break_ties_randomly=False)
        return self.epsilon_greedy_action(state, self.num_timesteps)

    # --------------------------------------------------------------- learning

    def observe(
        self,
        observation: Any,
        action: Any,
        reward: float,
        next_observation: Any,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> None:
        self.update(
            self.state_of(observation),
            int(action),
            float(reward),
            self.state_of(next_observation),
            bool(terminated),
        )

    def update(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> float:
        """Apply one transition to the table and return the TD error."""
        raise NotImplementedError

    def _step_size(self, state: int, action: int) -> float:
        """Count this update of (state, action) and return its alpha."""
        self.visits[state, action] += 1
        return self.alpha(self.visits[state, action])

    # -------------------------------------------------------------- reporting

    @property
    def table_size(self) -> int:
        """Number of entries in the Q-table (states x actions)."""
        return self.n_states * self.n_actions

    @property
    def visited_state_share(self) -> float:
        """Share of states in which at least one price has been updated, in [0, 1]."""
        return float(np.mean(self.visits.sum(axis=1) > 0))

    def greedy_prices(self) -> np.ndarray:
        """Return the greedy action index of every state (lowest index on ties)."""
        return np.array([self.greedy_action(s, break_ties_randomly=False) for s in range(self.n_states)])

    def summary(self) -> dict[str, float]:
        return {
            "tabular/table_size": float(self.table_size),
            "tabular/n_states": float(self.n_states),
            "tabular/visited_state_share": self.visited_state_share,
            "tabular/epsilon": self.epsilon(self.num_timesteps),
        }

    # ------------------------------------------------------------------ files

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"q_table": self.q_table, "visits": self.visits}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.q_table = arrays["q_table"].astype(np.float64)
        self.visits = arrays["visits"].astype(np.int64)

    def save(self, path: str | Path) -> Path:
        """Write the table, visit counts, settings and RNG state to an .npz file."""
        metadata = {
            "seed": self.seed,
            "num_timesteps": self.num_timesteps,
            "hyperparameters": self.hyperparameters,
            "discretizer": self.discretizer.config(),
            "action_space": space_to_config(self.action_space),
            "observation_space": space_to_config(self.observation_space),
            "rng_state": rng_state_to_json(self.rng),
        }
        return save_npz(path, self.name, metadata, self._arrays())

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "TabularAgent":
        """Rebuild an agent from ``save``; with ``env``, check that its spaces match the file's."""
        expected = tuple(TABULAR_AGENTS) if cls is TabularAgent else (cls.name,)
        metadata, arrays = load_npz(path, expected)
        agent_class = TABULAR_AGENTS[metadata["agent"]]

        action_space = space_from_config(metadata["action_space"])
        observation_space = space_from_config(metadata["observation_space"])
        if env is not None and not (
            spaces_match(env.action_space, action_space) and spaces_match(env.observation_space, observation_space)
        ):
            raise ValueError(
                f"{path} was trained on action space {action_space} and observation space "
                f"{observation_space}, but the env has {env.action_space} and {env.observation_space}"
            )

        discretizer = metadata["discretizer"]
        agent = agent_class(
            SpacesOnly(action_space, observation_space),
            seed=metadata["seed"],
            edges=discretizer["edges"] if discretizer["kind"] == "box" else None,
            **metadata["hyperparameters"],
        )
        agent._set_arrays(arrays)
        agent.num_timesteps = int(metadata["num_timesteps"])
        agent.rng = rng_from_json(metadata["rng_state"])
        return agent

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(seed={self.seed}, states={self.n_states}, actions={self.n_actions}, "
            f"steps={self.num_timesteps})"
        )


class QLearningAgent(TabularAgent):
    """Q-learning: off-policy TD control that bootstraps on the best next price."""

    name: ClassVar[str] = "q-learning"
    description: ClassVar[str] = "Tabular Q-learning over a discretized state and the price grid"

    def update(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> float:
        """Apply Q(s,a) <- Q(s,a) + alpha * (r + gamma * max_a' Q(s',a') - Q(s,a)); return the TD error."""
        alpha = self._step_size(state, action)

        # After a real end (sold out) nothing more can be earned. A truncated episode is not
        # terminated, so it bootstraps like any other step (see the module docstring).
        if terminated:
            target = reward
        else:
            target = reward + self.gamma * np.max(self.q_table[next_state])

        td_error = target - self.q_table[state, action]
        self.q_table[state, action] += alpha * td_error
        return float(td_error)

    def update_batch(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_states: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Apply many Q-learning transitions at once (the fast path).

        All targets r + gamma * max_a' Q(s', a') are computed from the table as it is
        *before* the batch. Then the transitions are applied in order, so a pair (s, a)
        that occurs k times gets k successive updates with its own alpha for each visit.
        The result therefore equals calling ``update`` in a loop whenever the targets do not
        depend on the batch itself: with gamma = 0, or when no pair updated in the batch is
        read as a next state. Otherwise it is the synchronous variant of Q-learning, whose
        targets lag by at most one batch.

        Because the targets within a group of equal pairs are fixed, k updates in a row
        Q <- Q + alpha_j * (t_j - Q) collapse into one formula:

            Q_k = Q_0 * prod_j (1 - alpha_j) + sum_j alpha_j * t_j * prod_{i > j} (1 - alpha_i),

        which numpy evaluates for all groups together after sorting by pair.
        """
        states = np.asarray(states, dtype=np.int64).ravel()
        actions = np.asarray(actions, dtype=np.int64).ravel()
        rewards = np.asarray(rewards, dtype=np.float64).ravel()
        next_states = np.asarray(next_states, dtype=np.int64).ravel()
        terminated = np.asarray(terminated, dtype=bool).ravel()
        n = states.size
        if not (actions.size == rewards.size == next_states.size == terminated.size == n):
            raise ValueError(
                "states, actions, rewards, next_states and terminated must have the same length, got "
                f"{states.size}, {actions.size}, {rewards.size}, {next_states.size}, {terminated.size}"
            )
        if n == 0:
            return

        # Targets from the table as it is before the batch; no bootstrap after a real end.
        bootstrap = self.q_table.max(axis=1)[next_states]
        targets = rewards + self.gamma * np.where(terminated, 0.0, bootstrap)

        # Group the transitions by (state, action) pair, keeping their order within a group.
        pairs = states * self.n_actions + actions
        order = np.argsort(pairs, kind="stable")
        sorted_pairs = pairs[order]
        sorted_targets = targets[order]
        group_starts = np.flatnonzero(np.r_[True, sorted_pairs[1:] != sorted_pairs[:-1]])
        group_sizes = np.diff(np.r_[group_starts, n])
        group_pairs = sorted_pairs[group_starts]
        group_of = np.repeat(np.arange(group_starts.size), group_sizes)
        position_in_group = np.arange(n) - group_starts[group_of]

        # The j-th update of a pair in this batch is its (visits_before + j + 1)-th visit.
        flat_visits = self.visits.reshape(-1)
        visit_numbers = flat_visits[group_pairs][group_of] + position_in_group + 1
        alphas = self.alpha.values(visit_numbers)

        # log(1 - alpha) summed within each group, and over the updates after each one.
        log_keep = np.log(np.maximum(1.0 - alphas, _MIN_KEEP))
        running = np.cumsum(log_keep)
        before_group = running[group_starts] - log_keep[group_starts]
        within_group = running - before_group[group_of]
        group_totals = within_group[group_starts + group_sizes - 1]
        after_each = group_totals[group_of] - within_group

        flat_q = self.q_table.reshape(-1)
        new_values = flat_q[group_pairs] * np.exp(group_totals) + np.bincount(
            group_of, weights=alphas * np.exp(after_each) * sorted_targets, minlength=group_starts.size
        )
        flat_q[group_pairs] = new_values
        flat_visits[group_pairs] += group_sizes

    def learn_vectorized(
        self,
        vec_env: gym.vector.VectorEnv,
        total_steps: int,
        callback: TrainingCallback | None = None,
    ) -> "QLearningAgent":
        """Train on many markets at once: each vector step is one ``update_batch`` of all markets.

        ``vec_env`` is a Gymnasium ``VectorEnv`` with the agent's spaces as its single spaces
        and the default ``NEXT_STEP`` autoreset, for example
        ``gymnasium.make_vec("PricingSim/SingleProduct-v0", num_envs=256)``. After a market's
        episode ends, its next step only resets it and is not a transition, so it is skipped.
        ``total_steps`` counts transitions over all markets and is rounded up to whole vector
        steps. Like ``learn``, this continues across calls on the same ``vec_env`` and reports
        every finished episode to ``callback``.

        Every market in a vector step acts on the same table, so this is synchronous
        Q-learning (see ``update_batch``), not the one-transition-at-a-time reference.
        """
        if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 0:
            raise ValueError(f"total_steps must be a non-negative integer, got {total_steps!r}")
        autoreset = vec_env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        if autoreset != gym.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(f"learn_vectorized needs a vector env with NEXT_STEP autoreset, got {autoreset}")
        if not spaces_match(vec_env.single_action_space, self.action_space):
            raise ValueError(
                f"the vector env's single action space {vec_env.single_action_space} differs from "
                f"the agent's {self.action_space}"
            )

        n_envs = vec_env.num_envs
        if getattr(self, "_vector_env", None) is not vec_env:
            observations, _ = vec_env.reset(seed=int(self.rng.integers(2**31 - 1)))
            self._vector_env = vec_env
            self._vector_observations = observations
            self._vector_resetting = np.zeros(n_envs, dtype=bool)
            self._vector_revenue = np.zeros(n_envs)
            self._vector_length = np.zeros(n_envs, dtype=np.int64)

        steps_done = 0
        while steps_done < total_steps:
            states = self.discretizer.transform_batch(self._vector_observations)
            actions = self._epsilon_greedy_batch(states)
            next_observations, rewards, terminated, truncated, infos = vec_env.step(actions)

            # A market whose episode ended last step was only reset by this one.
            valid = ~self._vector_resetting
            next_states = self.discretizer.transform_batch(next_observations)
            self.update_batch(
                states[valid], actions[valid], np.asarray(rewards)[valid], next_states[valid],
                np.asarray(terminated)[valid],
            )

            revenues = np.asarray(infos.get("revenue", rewards), dtype=np.float64)
            self._vector_revenue[valid] += revenues[valid]
            self._vector_length[valid] += 1
            n_valid = int(valid.sum())
            self.num_timesteps += n_valid
            steps_done += n_valid

            ended = valid & (np.asarray(terminated) | np.asarray(truncated))
            stop = False
            for i in np.flatnonzero(ended):
                metrics = {
                    "train/step": float(self.num_timesteps),
                    "train/episode_revenue": float(self._vector_revenue[i]),
                    "train/episode_length": float(self._vector_length[i]),
                }
                self._vector_revenue[i] = 0.0
                self._vector_length[i] = 0
                if callback is not None and callback(metrics) is False:
                    stop = True
            self._vector_resetting = ended
            self._vector_observations = next_observations
            if stop:
                break
        return self

    def _epsilon_greedy_batch(self, states: np.ndarray) -> np.ndarray:
        """Epsilon-greedy actions for many states, breaking ties between greedy prices at random."""
        values = self.q_table[states]
        is_best = values == values.max(axis=1, keepdims=True)
        tie_break = np.where(is_best, self.rng.random(values.shape), -1.0)
        actions = tie_break.argmax(axis=1)

        explore = self.rng.random(states.size) < self.epsilon(self.num_timesteps)
        actions[explore] = self.rng.integers(self.n_actions, size=int(explore.sum()))
        return actions


class SarsaAgent(TabularAgent):
    """SARSA: on-policy TD control that bootstraps on the price it will actually post next."""

    name: ClassVar[str] = "sarsa"
    description: ClassVar[str] = "Tabular SARSA (on-policy TD control) over a discretized state and the price grid"

    def __init__(self, env: gym.Env, seed: int = 0, **kwargs: Any):
        super().__init__(env, seed, **kwargs)
        # The action chosen for the next state during the last update, which ``act`` then takes.
        self._next_action: tuple[int, int] | None = None

    def act(self, observation: Any, deterministic: bool = False) -> int:
        state = self.state_of(observation)
        if deterministic:
            return self.greedy_action(state, break_ties_randomly=False)

        if self._next_action is not None and self._next_action[0] == state:
            action = self._next_action[1]
            self._next_action = None
            return action
        self._next_action = None
        return self.epsilon_greedy_action(state, self.num_timesteps)

    def observe(
        self,
        observation: Any,
        action: Any,
        reward: float,
        next_observation: Any,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> None:
        state = self.state_of(observation)
        next_state = self.state_of(next_observation)

        # Choose a' now, by the same epsilon-greedy policy, at the next step's epsilon.
        next_action = self.epsilon_greedy_action(next_state, self.num_timesteps + 1)
        self.update(state, int(action), float(reward), next_state, bool(terminated), next_action)

        # After truncation the env is reset, so a' is used for the target but never posted.
        episode_over = terminated or truncated
        self._next_action = None if episode_over else (next_state, next_action)

    def update(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        next_action: int | None = None,
    ) -> float:
        """Apply Q(s,a) <- Q(s,a) + alpha * (r + gamma * Q(s',a') - Q(s,a)); return the TD error.

        Without ``next_action``, a' is drawn from the agent's epsilon-greedy policy.
        """
        if next_action is None:
            next_action = self.epsilon_greedy_action(next_state, self.num_timesteps + 1)
        alpha = self._step_size(state, action)

        if terminated:
            target = reward
        else:
            target = reward + self.gamma * self.q_table[next_state, next_action]

        td_error = target - self.q_table[state, action]
        self.q_table[state, action] += alpha * td_error
        return float(td_error)


class DoubleQLearningAgent(TabularAgent):
    """Double Q-learning: two tables, one picks the best next price and the other values it.

    ``q_table`` is the first table and ``q_table_b`` the second. The agent acts greedily on
    their sum, and ``action_values`` and the plots use their mean.
    """

    name: ClassVar[str] = "double-q"
    description: ClassVar[str] = "Tabular Double Q-learning, which removes the max-operator's upward bias"

    def __init__(self, env: gym.Env, seed: int = 0, **kwargs: Any):
        super().__init__(env, seed, **kwargs)
        self.q_table_b = np.full_like(self.q_table, self.initial_value)
        self.visits_b = np.zeros_like(self.visits)

    def action_values(self, state: int) -> np.ndarray:
        return 0.5 * (self.q_table[state] + self.q_table_b[state])

    def update(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        update_first: bool | None = None,
    ) -> float:
        """Update one of the two tables (chosen by a fair coin unless ``update_first`` is given)."""
        if update_first is None:
            update_first = bool(self.rng.random() < 0.5)

        if update_first:
            table, other, visits = self.q_table, self.q_table_b, self.visits
        else:
            table, other, visits = self.q_table_b, self.q_table, self.visits_b

        visits[state, action] += 1
        alpha = self.alpha(visits[state, action])

        if terminated:
            target = reward
        else:
            best_next_action = int(np.argmax(table[next_state]))
            target = reward + self.gamma * other[next_state, best_next_action]

        td_error = target - table[state, action]
        table[state, action] += alpha * td_error
        return float(td_error)

    @property
    def visited_state_share(self) -> float:
        return float(np.mean((self.visits + self.visits_b).sum(axis=1) > 0))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**super()._arrays(), "q_table_b": self.q_table_b, "visits_b": self.visits_b}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._set_arrays(arrays)
        self.q_table_b = arrays["q_table_b"].astype(np.float64)
        self.visits_b = arrays["visits_b"].astype(np.int64)


TABULAR_AGENTS: dict[str, type[TabularAgent]] = {
    QLearningAgent.name: QLearningAgent,
    SarsaAgent.name: SarsaAgent,
    DoubleQLearningAgent.name: DoubleQLearningAgent,
}

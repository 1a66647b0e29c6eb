"""Map Gymnasium observations to the row index of a Q-table.

A Box observation is cut into bins along each component, either uniformly between the
space's bounds or at explicit edges. The bins of all components form a grid, and a state is
the index of its grid cell in row-major (C) order. Discrete observations are used as they
are, and each component of a MultiDiscrete observation is its own set of bins.

Values outside a component's range fall into its first or last bin, so every observation
maps to a valid state. A NaN component has no bin and raises ``ValueError``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np


class StateDiscretizer:
    """Turns observations of ``observation_space`` into integer states in [0, n_states).

    Args:
        observation_space: a ``Box``, ``Discrete`` or ``MultiDiscrete`` space.
        bins: for a Box, the number of bins per component: one int for every component or
            one int per component. Ignored for Discrete and MultiDiscrete spaces.
        edges: for a Box, explicit bin edges per component (a sequence with one increasing
            sequence of inner edges per component). Component ``i`` then has
            ``len(edges[i]) + 1`` bins. Needed when a Box component has an infinite bound.
    """

    def __init__(
        self,
        observation_space: gym.Space,
        bins: int | Sequence[int] = 10,
        edges: Sequence[Sequence[float]] | None = None,
    ):
        self.observation_space = observation_space

        if isinstance(observation_space, gym.spaces.Discrete):
            self.kind = "discrete"
            self.bins_per_component = (int(observation_space.n),)
            self.edges: list[np.ndarray] = []
        elif isinstance(observation_space, gym.spaces.MultiDiscrete):
            self.kind = "multidiscrete"
            self.bins_per_component = tuple(int(n) for n in np.ravel(observation_space.nvec))
            self.edges = []
        elif isinstance(observation_space, gym.spaces.Box):
            self.kind = "box"
            self.edges = self._box_edges(observation_space, bins, edges)
            self.bins_per_component = tuple(len(e) + 1 for e in self.edges)
        else:
            raise TypeError(
                f"cannot discretize a {type(observation_space).__name__} observation space; "
                "use a Box, Discrete or MultiDiscrete space"
            )

        self.n_states = int(np.prod(self.bins_per_component))
        # Plain lists for the one-observation path, which runs at every environment step.
        self._edge_lists = [e.tolist() for e in self.edges]

    @staticmethod
    def _box_edges(
        space: gym.spaces.Box,
        bins: int | Sequence[int],
        edges: Sequence[Sequence[float]] | None,
    ) -> list[np.ndarray]:
        low = np.ravel(space.low).astype(np.float64)
        high = np.ravel(space.high).astype(np.float64)
        n_components = low.size

        if edges is not None:
            if len(edges) != n_components:
                raise ValueError(
                    f"edges has {len(edges)} entries but the observation has {n_components} "
                    "components; give one sequence of edges per component"
                )
            result = []
            for i, component_edges in enumerate(edges):
                e = np.asarray(component_edges, dtype=np.float64).ravel()
                if e.size and (not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0)):
                    raise ValueError(f"edges[{i}] must be finite and strictly increasing, got {e.tolist()}")
                result.append(e)
            return result

        counts = np.broadcast_to(np.asarray(bins), (n_components,)) if np.ndim(bins) == 0 else np.asarray(bins)
        if counts.shape != (n_components,):
            raise ValueError(
                f"bins has {counts.size} entries but the observation has {n_components} components; "
                "give one int or one int per component"
            )
        result = []
        for i, count in enumerate(counts):
            if int(count) != count or count < 1:
                raise ValueError(f"bins[{i}] must be a positive integer, got {count!r}")
            if not (np.isfinite(low[i]) and np.isfinite(high[i])):
                raise ValueError(
                    f"observation component {i} has infinite bounds [{low[i]}, {high[i]}]; "
                    "pass explicit edges for it"
                )
            # Inner edges only: count bins need count - 1 cuts between low and high.
            result.append(np.linspace(low[i], high[i], int(count) + 1)[1:-1])
        return result

    def transform(self, observation: Any) -> int:
        """Return the state index of one observation."""
        if self.kind == "discrete":
            return int(observation)

        values = np.asarray(observation).ravel().tolist()
        if len(values) != len(self.bins_per_component):
            raise ValueError(f"observation has {len(values)} components, expected {len(self.bins_per_component)}")
        state = 0
        for i, (value, n_bins) in enumerate(zip(values, self.bins_per_component)):
            if value != value:
                raise ValueError(f"observation {observation!r} has NaN in component {i}, so it has no state")
            if self.kind == "box":
                cell = bisect_right(self._edge_lists[i], value)
            else:
                cell = min(max(int(value), 0), n_bins - 1)
            state = state * n_bins + cell
        return state

    def transform_batch(self, observations: np.ndarray) -> np.ndarray:
        """Return the state indices of a batch of observations (leading axis = batch)."""
        obs = np.asarray(observations)
        if self.kind == "discrete":
            return obs.astype(np.int64).ravel()

        obs = obs.reshape(obs.shape[0], -1)
        if obs.shape[1] != len(self.bins_per_component):
            raise ValueError(
                f"observations have {obs.shape[1]} components, expected {len(self.bins_per_component)}"
            )
        if obs.dtype.kind == "f" and np.isnan(obs).any():
            row = int(np.flatnonzero(np.isnan(obs).any(axis=1))[0])
            raise ValueError(f"observation {obs[row]!r} (row {row}) has NaN, so it has no state")
        if self.kind == "multidiscrete":
            cells = obs.astype(np.int64)
        else:
            cells = np.empty(obs.shape, dtype=np.int64)
            for i, component_edges in enumerate(self.edges):
                cells[:, i] = np.searchsorted(component_edges, obs[:, i], side="right")
        return np.ravel_multi_index(cells.T, self.bins_per_component, mode="clip").astype(np.int64)

    def state_labels(self) -> list[str]:
        """Return a short label for every state, such as ``"obs[0] in [5, 5.5)"``, for plots.

        Components with a single bin are the same in every state and are left out.
        """
        per_component = []
        for i, n in enumerate(self.bins_per_component):
            if self.kind == "discrete":
                per_component.append([str(k) for k in range(n)])
                continue
            if self.kind == "multidiscrete":
                per_component.append([f"obs[{i}] = {k}" for k in range(n)])
                continue
            e = self.edges[i]
            lower = ["-inf" if k == 0 else f"{e[k - 1]:.3g}" for k in range(n)]
            upper = ["inf" if k == n - 1 else f"{e[k]:.3g}" for k in range(n)]
            per_component.append([f"obs[{i}] in [{lo}, {hi})" for lo, hi in zip(lower, upper)])

        labels = []
        for state in range(self.n_states):
            cell = np.unravel_index(state, self.bins_per_component)
            parts = [per_component[i][k] for i, k in enumerate(cell) if self.bins_per_component[i] > 1]
            labels.append(", ".join(parts) if parts else "every observation")
        return labels

    def config(self) -> dict[str, Any]:
        """Return what ``from_config`` needs to rebuild this discretizer."""
        return {
            "kind": self.kind,
            "bins_per_component": list(self.bins_per_component),
            "edges": [e.tolist() for e in self.edges],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], observation_space: gym.Space | None = None) -> "StateDiscretizer":
        """Rebuild a discretizer from ``config()``, on ``observation_space`` if given."""
        kind = config["kind"]
        if observation_space is None:
            n_components = len(config["bins_per_component"])
            if kind == "discrete":
                observation_space = gym.spaces.Discrete(config["bins_per_component"][0])
            elif kind == "multidiscrete":
                observation_space = gym.spaces.MultiDiscrete(config["bins_per_component"])
            else:
                observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n_components,), dtype=np.float64)
        if kind == "box":
            return cls(observation_space, edges=config["edges"])
        return cls(observation_space)

    def __repr__(self) -> str:
        return f"StateDiscretizer(kind={self.kind!r}, bins={self.bins_per_component}, n_states={self.n_states})"

"""Helpers shared by the agents written in this package: space checks and file formats."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

# Version of the .npz layout written by ``save_npz``. Bump it when the arrays or the
# metadata keys change meaning, so that old files raise a clear error instead of loading wrong.
NPZ_FORMAT_VERSION = 1


@dataclass
class SpacesOnly:
    """A stand-in for an environment when only its spaces are known (an agent loaded from disk)."""

    action_space: gym.Space
    observation_space: gym.Space

    @property
    def unwrapped(self) -> "SpacesOnly":
        return self


def require_env(env: Any, agent_name: str) -> None:
    """Raise TypeError unless ``env`` has Gymnasium action and observation spaces."""
    if not (hasattr(env, "action_space") and hasattr(env, "observation_space")):
        raise TypeError(
            f"{agent_name} needs a Gymnasium environment with action_space and observation_space, "
            f"got {type(env).__name__}"
        )


def require_discrete_actions(action_space: gym.Space, agent_name: str) -> int:
    """Return the number of actions, or raise ValueError naming the fix for other spaces."""
    if not isinstance(action_space, gym.spaces.Discrete):
        raise ValueError(
            f"{agent_name} chooses among grid prices and needs a Discrete action space, got "
            f"{action_space}; make the market with action_type='discrete'"
        )
    return int(action_space.n)


def env_price_grid(env: Any, n_actions: int) -> np.ndarray:
    """Return the env's price for each discrete action (``env.unwrapped.price_grid``)."""
    grid = getattr(env.unwrapped, "price_grid", None)
    if grid is None:
        raise ValueError(
            f"{type(env.unwrapped).__name__} has no price_grid attribute; this agent needs the "
            "price posted by each discrete action"
        )
    grid = np.asarray(grid, dtype=np.float64).ravel()
    if grid.size != n_actions:
        raise ValueError(f"price_grid has {grid.size} prices but the action space has {n_actions} actions")
    return grid


def finite_observation(observation: Any, agent_name: str) -> np.ndarray:
    """Return ``observation`` as a float32 array, or raise ValueError when it has NaN or inf.

    For agents whose networks turn a non-finite input into a meaningless action.
    """
    array = np.asarray(observation, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{agent_name} needs a finite observation, got {observation!r}")
    return array


def env_price_bounds(env: Any) -> tuple[float, float] | None:
    """Return the market's (min_price, max_price), or None when it exposes neither.

    Reads ``env.unwrapped.min_price`` and ``max_price``, falling back to the same attributes of
    ``env.unwrapped.market`` for markets that keep them only there.
    """
    for holder in (env.unwrapped, getattr(env.unwrapped, "market", None)):
        low = getattr(holder, "min_price", None)
        high = getattr(holder, "max_price", None)
        if low is not None and high is not None:
            return float(low), float(high)
    return None


def env_id(env: Any) -> str | None:
    """Return the registered id of ``env`` (such as ``PricingSim/SingleProduct-v0``), if any."""
    spec = getattr(env, "spec", None)
    if spec is None:
        spec = getattr(getattr(env, "unwrapped", None), "spec", None)
    return None if spec is None else spec.id


def space_to_config(space: gym.Space) -> dict[str, Any]:
    """Describe a Discrete, MultiDiscrete or Box space as JSON-ready data."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist()}
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "low": np.asarray(space.low, dtype=np.float64).tolist(),
            "high": np.asarray(space.high, dtype=np.float64).tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    raise TypeError(f"cannot describe a {type(space).__name__} space; use Box, Discrete or MultiDiscrete")


def space_from_config(config: dict[str, Any]) -> gym.Space:
    """Rebuild a space written by ``space_to_config``."""
    kind = config["type"]
    if kind == "Discrete":
        return gym.spaces.Discrete(config["n"])
    if kind == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(config["nvec"])
    dtype = np.dtype(config["dtype"])
    low = np.asarray(config["low"], dtype=dtype).reshape(config["shape"])
    high = np.asarray(config["high"], dtype=dtype).reshape(config["shape"])
    return gym.spaces.Box(low, high, dtype=dtype)


def spaces_match(a: gym.Space, b: gym.Space) -> bool:
    """Return True when two spaces have the same type, shape and bounds."""
    return space_to_config(a) == space_to_config(b)


def check_saved_spaces(path: str | Path, env: Any, metadata: dict[str, Any]) -> None:
    """Raise ValueError unless ``env`` has the action and observation spaces saved in ``metadata``.

    ``metadata`` holds ``action_space`` and ``observation_space`` as written by ``space_to_config``.
    """
    action_space = space_from_config(metadata["action_space"])
    observation_space = space_from_config(metadata["observation_space"])
    if spaces_match(env.action_space, action_space) and spaces_match(env.observation_space, observation_space):
        return
    raise ValueError(
        f"{path} was trained on action space {action_space} and observation space "
        f"{observation_space}, but the env has {env.action_space} and {env.observation_space}; "
        "load it with the market it was trained on, or with env=None"
    )


def write_atomically(path: Path, write: Any) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    tmp_path = Path(tmp_name)
    try:
        write(tmp_path)
        # mkstemp creates the file readable by its owner only; give it the usual mode.
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def save_npz(path: str | Path, agent_name: str, metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` and JSON ``metadata`` to an .npz file tagged with the agent and format."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    header = {"format_version": NPZ_FORMAT_VERSION, "agent": agent_name, **metadata}

    def write(tmp_path: Path) -> None:
        with open(tmp_path, "wb") as f:
            np.savez(f, metadata=np.array(json.dumps(header)), **arrays)

    return write_atomically(path, write)


def load_npz(path: str | Path, expected_agents: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by ``save_npz``, checking its format version and agent name."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"agent file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        # A truncated or overwritten file fails in zipfile (BadZipFile) or while reading an entry.
        raise ValueError(f"{path} is not an .npz agent file: {error}") from error

    if "metadata" not in arrays:
        raise ValueError(f"{path} has no metadata entry, so it was not written by a pricing-sim agent")
    metadata = json.loads(str(arrays.pop("metadata")))

    version = metadata.get("format_version")
    if version != NPZ_FORMAT_VERSION:
        raise ValueError(
            f"{path} has agent file format version {version!r}, but this code reads version "
            f"{NPZ_FORMAT_VERSION}; retrain the agent or load it with the version that wrote it"
        )
    agent = metadata.get("agent")
    if agent not in expected_agents:
        raise ValueError(
            f"{path} contains a {agent!r} agent, not {' or '.join(repr(a) for a in expected_agents)}; "
            "load it with that agent's class or with agents.registry.load_agent"
        )
    return metadata, arrays


def rng_state_to_json(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def rng_from_json(state: str) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = json.loads(state)
    return rng


@contextlib.contextmanager
def single_thread_torch() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``, restoring the previous count after.

    Small networks run faster on one thread than on several contending for a shared CPU,
    and one thread sums in a fixed order, so results repeat exactly.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

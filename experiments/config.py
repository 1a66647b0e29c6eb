"""Typed, validated experiment configs, read from TOML.

A config names one market (a Gymnasium id and its constructor keyword arguments), the agents
to compare with their hyperparameters, the seeds, the training budget and the evaluation
schedule. The schedule is the same for every agent so that their curves share a step grid.

Example::

    name = "tiny"
    seed = 0                      # root of every derived seed
    seeds = 3                     # or a list: [0, 1, 2]

    [env]
    id = "PricingSim/SingleProduct-v0"
    kwargs = { horizon = 20 }

    [training]
    steps = 400

    [evaluation]
    every = 100
    episodes = 3
    deterministic = true

    [[agents]]
    name = "ucb1"
    hyperparams = { exploration = 2.0 }

The oracle, the best fixed price and the random baseline are added to every comparison
that does not list them. Every error names the field path (``agents[2].hyperparams.exploration``),
the value and what is allowed; see ``ConfigError``.

Reading TOML needs ``tomllib`` (Python 3.11+) or the ``tomli`` package on Python 3.10.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]

BASELINE_AGENTS = ("oracle", "best-fixed", "random")
"""Reference agents added to every comparison, in this order, when a config omits them."""

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "compare.toml"

# Constructor arguments of the PricingSim markets that are prices or counts, checked here so
# that an impossible value is reported with its config path before any job starts. The
# bounds are those the markets enforce: every market needs a price grid of at least 2
# prices, and Inventory-v0 starts with at least 1 unit in stock.
_NON_NEGATIVE_ENV_KWARGS = ("min_price", "max_price", "unit_cost", "salvage_value")
_MIN_INTEGER_ENV_KWARGS = {"horizon": 1, "n_prices": 2, "initial_stock": 1}

# Constructor arguments that are file-system paths, by market id. A relative path in a config
# file is resolved against the file's folder, so a config runs the same from any folder.
_PATH_ENV_KWARGS = {"PricingSim/Calibrated-v0": ("model_dir", "cache_dir")}


class ConfigError(ValueError):
    """An invalid experiment config; ``errors`` lists ``(field path, message)`` pairs.

    ``source`` names the file (or option) the config came from, and ``data`` holds the plain
    data that failed validation, where there is some, so that callers can check its valid parts.
    """

    def __init__(
        self,
        errors: Sequence[tuple[str, str]],
        source: str | None = None,
        data: Mapping[str, Any] | None = None,
    ):
        self.errors = list(errors)
        self.source = source
        self.data = data
        where = f" in {source}" if source else ""
        lines = [f"invalid experiment config{where}:"]
        lines += [f"  {path}: {message}" for path, message in self.errors]
        super().__init__("\n".join(lines))


class _Model(BaseModel):
    # Strict mode rejects values of the wrong TOML type instead of coercing them, so that
    # steps = true (read as 1) or deterministic = "no" (read as False) are errors.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class EnvConfig(_Model):
    """The market: a registered Gymnasium id and its constructor keyword arguments."""

    id: str = "PricingSim/SingleProduct-v0"
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a registered Gymnasium id such as 'PricingSim/SingleProduct-v0'")
        return value

    @model_validator(mode="after")
    def _check_prices(self) -> "EnvConfig":
        for key in _NON_NEGATIVE_ENV_KWARGS:
            value = self.kwargs.get(key)
            if value is not None and _is_number(value) and not (value >= 0 and math.isfinite(value)):
                raise _FieldError(("kwargs", key), f"must be a finite number >= 0, got {value!r}")
        for key, minimum in _MIN_INTEGER_ENV_KWARGS.items():
            value = self.kwargs.get(key)
            # The markets reject floats such as 20.0 too, so only TOML integers pass.
            if _is_number(value) and (not isinstance(value, int) or value < minimum):
                raise _FieldError(("kwargs", key), f"must be an integer >= {minimum}, got {value!r}")
        low, high = self.kwargs.get("min_price"), self.kwargs.get("max_price")
        if _is_number(low) and _is_number(high) and low >= high:
            raise _FieldError(
                ("kwargs", "max_price"),
                f"must be greater than min_price ({low!r}), got {high!r}",
            )
        return self


class AgentConfig(_Model):
    """One agent of the comparison.

    ``label`` names the agent in tables and figures (default: ``name``) and must be unique,
    so the same agent may appear twice with different hyperparameters. ``train_steps``
    overrides the config's training budget for this agent only; it is recorded with every
    run of the agent.
    """

    name: str
    label: str | None = None
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    train_steps: PositiveInt | None = None

    @property
    def display_name(self) -> str:
        return self.label or self.name

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be an agent name; `pricing-sim list` shows them")
        return value

    @field_validator("label")
    @classmethod
    def _check_label(cls, value: str | None) -> str | None:
        if value is not None and not _is_safe_label(value):
            raise ValueError(
                f"must be 1-64 letters, digits, '-', '_' or '.', got {value!r}; "
                "it names the run folders"
            )
        return value

    @field_validator("hyperparams")
    @classmethod
    def _check_hyperparams(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                raise _FieldError((key,), f"must be a finite number, got {item!r}")
        return value


class TrainingConfig(_Model):
    """The training budget of every agent, in environment steps."""

    steps: PositiveInt


class EvaluationConfig(_Model):
    """The evaluation schedule, the same for every agent.

    After every ``every`` training steps (and once before training) the agent plays
    ``episodes`` evaluation episodes; ``deterministic`` is passed to ``agent.act``.
    """

    every: PositiveInt
    episodes: PositiveInt = 5
    deterministic: bool = True


class SearchDimension(_Model):
    """One hyperparameter's range for ``pricing-sim tune``.

    ``type = "float"`` or ``"int"`` samples from ``[low, high]`` (log-uniformly with
    ``log = true``); ``type = "categorical"`` picks one of ``choices``.
    """

    type: Literal["float", "int", "categorical"] = "float"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _check_range(self) -> "SearchDimension":
        if self.type == "categorical":
            if not self.choices:
                raise _FieldError(("choices",), "a categorical dimension needs a non-empty list of choices")
            return self
        if self.low is None or self.high is None:
            raise _FieldError(("low",), f"a {self.type} dimension needs both low and high")
        if not self.low < self.high:
            raise _FieldError(("high",), f"must be greater than low ({self.low!r}), got {self.high!r}")
        if self.log and self.low <= 0:
            raise _FieldError(("low",), f"must be > 0 for a log-scaled dimension, got {self.low!r}")
        return self


class ExperimentConfig(_Model):
    """A whole comparison: market, agents, seeds, training budget and evaluation schedule."""

    name: str = "experiment"
    description: str = ""
    seed: int = Field(default=0, ge=0, description="root of every derived seed")
    env: EnvConfig = Field(default_factory=EnvConfig)
    agents: list[AgentConfig] = Field(min_length=1)
    seeds: list[int]
    training: TrainingConfig
    evaluation: EvaluationConfig
    add_baselines: bool = True
    tune: dict[str, dict[str, SearchDimension]] = Field(
        default_factory=dict, description="search spaces of `pricing-sim tune`, by agent label"
    )

    _added_baselines: int = PrivateAttr(default=0)
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file (or option) the config came from, named in its errors; None if not given."""
        return self._source

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _is_safe_label(value):
            raise ValueError(f"must be 1-64 letters, digits, '-', '_' or '.', got {value!r}")
        return value

    @field_validator("seeds", mode="before")
    @classmethod
    def _expand_seed_count(cls, value: Any) -> Any:
        # A count N stands for the seeds 0..N-1.
        if isinstance(value, bool):
            raise ValueError(f"must be a count >= 1 or a list of seeds, got {value!r}")
        if isinstance(value, int):
            if value < 1:
                raise ValueError(f"must be a count >= 1 or a non-empty list of seeds, got {value!r}")
            return list(range(value))
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a count >= 1 or a list of seeds, got {value!r}")
        return value

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("must be a count >= 1 or a non-empty list of seeds, got []")
        for index, seed in enumerate(value):
            if seed < 0:
                raise _FieldError((index,), f"must be a non-negative integer, got {seed!r}")
        duplicates = sorted({seed for seed in value if value.count(seed) > 1})
        if duplicates:
            raise ValueError(f"must not repeat a seed, got {duplicates} more than once")
        return value

    @model_validator(mode="after")
    def _add_baselines_and_check_labels(self) -> "ExperimentConfig":
        # Paths in errors index the agents as listed in the file, before baselines are added.
        seen: dict[str, int] = {}
        for index, agent in enumerate(self.agents):
            label = agent.display_name
            if label in seen:
                raise _FieldError(
                    ("agents", index, "label"),
                    f"label {label!r} is already used by agents[{seen[label]}]; give one a distinct label",
                )
            if not _is_safe_label(label):
                raise _FieldError(
                    ("agents", index, "label"),
                    f"{label!r} cannot name a run folder; set a label of letters, digits, '-', '_' or '.'",
                )
            seen[label] = index

        agents = list(self.agents)
        missing: list[str] = []
        if self.add_baselines:
            listed = {agent.name for agent in agents}
            missing = [name for name in BASELINE_AGENTS if name not in listed]
            for name in missing:
                if name in seen:
                    raise _FieldError(
                        ("agents", seen[name], "label"),
                        f"label {name!r} is reserved for the {name} baseline; choose another label",
                    )
            agents = [AgentConfig(name=name) for name in missing] + agents

        object.__setattr__(self, "agents", agents)
        self._added_baselines = len(missing)
        return self

    def agent_path(self, agent_index: int) -> str:
        """Return the config path of an agent, indexed as in the file it was read from."""
        listed_index = agent_index - self._added_baselines
        if listed_index < 0:
            return f"agents (the {self.agents[agent_index].name} baseline, added automatically)"
        return f"agents[{listed_index}]"

    def train_steps_for(self, agent_index: int) -> int:
        """Return the training budget of one agent, its override or the config's."""
        override = self.agents[agent_index].train_steps
        return int(override if override is not None else self.training.steps)

    def eval_steps_for(self, agent_index: int) -> list[int]:
        """Return the training steps at which one agent is evaluated, 0 and the end included."""
        budget = self.train_steps_for(agent_index)
        steps = list(range(0, budget, self.evaluation.every))
        return steps + [budget]

    def with_seeds(self, seeds: int | Sequence[int]) -> "ExperimentConfig":
        """Return a copy with other seeds (a count or a list), validated like the original."""
        data = self.to_dict()
        data["seeds"] = seeds if isinstance(seeds, int) else list(seeds)
        validated = parse_config(data, source="--seeds")
        return self.model_copy(update={"seeds": validated.seeds})

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain data, baselines included, as stored in the manifest."""
        return self.model_dump(mode="json")

    def fingerprint(self) -> str:
        """Return a short hash of everything that changes the numbers a run produces."""
        data = self.to_dict()
        for key in ("description", "tune"):
            data.pop(key, None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class _FieldError(ValueError):
    """A validator error about a sub-field; ``loc`` is appended to the validator's path."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        self.loc = loc
        super().__init__(message)


def parse_config(
    data: Mapping[str, Any], source: str | None = None, base_dir: str | Path | None = None
) -> ExperimentConfig:
    """Validate plain data (as read from TOML) into an ``ExperimentConfig``.

    ``base_dir`` is the folder that relative path arguments of the market (``model_dir`` and
    ``cache_dir`` of Calibrated-v0) are resolved against; None leaves them as given, so they
    resolve against the working folder when the market is built.

    Raises ``ConfigError`` (a ``ValueError``) listing every invalid field with its path.
    """
    if not isinstance(data, Mapping):
        raise ConfigError([("<root>", f"must be a table of fields, got {type(data).__name__}")], source)
    try:
        config = ExperimentConfig.model_validate(dict(data))
    except ValidationError as error:
        raise ConfigError(_describe_errors(error), source, data) from None
    config._source = source
    if base_dir is not None:
        config = _resolve_env_paths(config, Path(base_dir))
    return config


def _resolve_env_paths(config: ExperimentConfig, base_dir: Path) -> ExperimentConfig:
    """Return ``config`` with its market's relative path arguments joined to ``base_dir``."""
    kwargs = dict(config.env.kwargs)
    for key in _PATH_ENV_KWARGS.get(config.env.id, ()):
        value = kwargs.get(key)
        # Other types and the empty string are left for the market to reject.
        if not isinstance(value, str) or not value:
            continue
        path = Path(value).expanduser()
        if not path.is_absolute():
            kwargs[key] = os.path.normpath(base_dir / path)
    if kwargs == config.env.kwargs:
        return config
    return config.model_copy(update={"env": config.env.model_copy(update={"kwargs": kwargs})})


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment config.

    Relative path arguments of the market (``model_dir`` and ``cache_dir`` of Calibrated-v0)
    are resolved against the folder of ``path``, and the config keeps the absolute paths.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"config path {path} is a folder; pass a TOML file such as {path / 'experiment.toml'}")
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    if tomllib is None:
        raise RuntimeError(
            "reading TOML configs needs Python 3.11 or newer, or the 'tomli' package on Python 3.10"
        )
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([("<file>", f"is not valid TOML: {error}")], str(path)) from None
    except UnicodeDecodeError as error:
        # TOML files are UTF-8 by definition, so another encoding is a file error.
        raise ConfigError(
            [("<file>", f"is not UTF-8 text (byte {error.object[error.start:error.start + 1]!r} at offset "
                        f"{error.start}); save the config as UTF-8")],
            str(path),
        ) from None
    # abspath, not resolve: a symlinked config's paths are relative to the link's folder.
    return parse_config(data, source=str(path), base_dir=Path(os.path.abspath(path)).parent)


def shipped_configs() -> dict[str, Path]:
    """Return the configs shipped in ``experiments/configs``, by file stem."""
    return {path.stem: path for path in sorted(CONFIG_DIR.glob("*.toml"))}


def format_path(loc: Sequence[str | int]) -> str:
    """Format a pydantic error location as ``agents[2].hyperparams.learning_rate``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<root>"


def _describe_errors(error: ValidationError) -> list[tuple[str, str]]:
    described = []
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        context = item.get("ctx") or {}
        inner = context.get("error")
        if isinstance(inner, _FieldError):
            loc += list(inner.loc)
            message = str(inner)
        elif item["type"] == "extra_forbidden":
            message = f"unknown field (value {item['input']!r}); allowed fields: {_allowed_fields(loc[:-1])}"
        elif item["type"] == "missing":
            message = "missing required field"
        else:
            message = item["msg"].removeprefix("Value error, ")
            if "got" not in message:
                message += f", got {item['input']!r}"
        described.append((format_path(loc), message))
    return described


def _allowed_fields(loc: Sequence[str | int]) -> str:
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return "(any)"
        model = nested[0]
    return ", ".join(model.model_fields)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_safe_label(value: str) -> bool:
    return 0 < len(value) <= 64 and all(ch.isalnum() or ch in "-_." for ch in value) and value not in (".", "..")

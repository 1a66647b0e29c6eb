"""The results store: per-run records on disk, the manifest, and reports built from them.

Layout of an output folder::

    manifest.json                 config, seeds, package versions, git commit, timings, failures
    runs/<label>__seed-<seed>/
        evaluations.parquet       one row per evaluation point
        training.parquet          one row per training episode
        prices.parquet            the first evaluation episode's prices after training
        run.json                  the job (seeds included) and its timings; written last
    summary.csv, summary.md       the final table (see ``experiments.statistics``)
    curves.csv                    the curves on the common step grid, with intervals
    figures/*.png, figures/*.svg  see ``experiments.plots``

A run counts as finished only when its ``run.json`` exists, and every file is written to a
temporary name and renamed into place, so an interrupted sweep never leaves a half-written
record and a rerun skips exactly the runs that finished.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from experiments.config import ExperimentConfig
    from experiments.runner import Job, JobFailure, RunRecord

MANIFEST = "manifest.json"
RUNS_DIR = "runs"
RUN_FILE = "run.json"
TABLES = ("evaluations", "training", "prices")

_VERSIONED_PACKAGES = (
    "pricing-sim",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "gymnasium",
    "torch",
    "stable-baselines3",
    "pydantic",
    "matplotlib",
    "ray",
    "optuna",
)


@dataclass
class Records:
    """Every finished run of an output folder, as three tables and the manifest."""

    evaluations: pd.DataFrame
    training: pd.DataFrame
    prices: pd.DataFrame
    manifest: dict[str, Any]
    runs: dict[str, dict[str, Any]]

    @property
    def labels(self) -> list[str]:
        """Agent labels in config order."""
        ordered = [agent.get("label") or agent["name"] for agent in self.manifest.get("config", {}).get("agents", [])]
        present = set(self.evaluations["label"]) if not self.evaluations.empty else set()
        extra = sorted(present - set(ordered))
        return [label for label in ordered if label in present] + extra


class ResultStore:
    """Writes and reads the records of one output folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def run_dir(self, run_id: str) -> Path:
        return self.root / RUNS_DIR / run_id

    def start(self, config: "ExperimentConfig", jobs: Sequence["Job"]) -> None:
        """Create the folder and check that finished runs were made with the same settings."""
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"output path {self.root} exists and is not a folder")
        if self.root.is_dir() and not (self.root / MANIFEST).exists() and _foreign_entries(self.root):
            # Reports would overwrite files such as summary.csv of whatever the folder holds.
            raise ValueError(
                f"output folder {self.root} is not empty and is not a results folder ({MANIFEST} not found); "
                "choose a new or empty --out folder"
            )
        try:
            (self.root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        except PermissionError as error:
            raise _not_writable(self.root, error) from error

        for job in jobs:
            stored = self._read_run(job.run_id)
            if stored is not None and stored.get("job") != job.spec():
                differing = sorted(
                    key for key, value in job.spec().items() if stored.get("job", {}).get(key) != value
                )
                raise ValueError(
                    f"{self.run_dir(job.run_id)} contains a finished run made with different settings "
                    f"({', '.join(differing)}); choose another --out folder or delete that run"
                )

        manifest = self.read_manifest() or {}
        manifest.update(
            status="running",
            config=config.to_dict(),
            config_fingerprint=config.fingerprint(),
            updated=_now(),
        )
        manifest.setdefault("created", _now())
        self._write_json(self.root / MANIFEST, manifest)

    def is_finished(self, job: "Job") -> bool:
        stored = self._read_run(job.run_id)
        return stored is not None and stored.get("job") == job.spec()

    def write_run(self, record: "RunRecord") -> None:
        """Write one run's tables, then its ``run.json``, which marks it finished."""
        directory = self.run_dir(record.job.run_id)
        directory.mkdir(parents=True, exist_ok=True)
        tables = {
            "evaluations": record.evaluations,
            "training": record.training,
            "prices": record.episode_prices,
        }
        for name, rows in tables.items():
            frame = pd.DataFrame(rows, columns=_columns(name, rows))
            _atomic_write(directory / f"{name}.parquet", lambda tmp, frame=frame: frame.to_parquet(tmp, index=False))

        run = {"job": record.job.spec(), "timings": record.timings, "finished": _now()}
        self._write_json(directory / RUN_FILE, run)

    def finish(
        self,
        config: "ExperimentConfig",
        jobs: Sequence["Job"],
        backend: str,
        workers: int,
        wall_seconds: float,
        failures: Sequence["JobFailure"],
    ) -> None:
        """Rewrite the manifest with the seeds, timings and failures of every run."""
        manifest = self.read_manifest() or {}
        runs = {}
        for job in jobs:
            stored = self._read_run(job.run_id)
            runs[job.run_id] = {
                "label": job.label,
                "seed": job.seed,
                "agent_seed": job.agent_seed,
                "train_env_seed": job.train_env_seed,
                "eval_episode_seeds": list(job.eval_episode_seeds),
                "finished": stored is not None,
                "timings": (stored or {}).get("timings"),
            }

        sessions = manifest.get("sessions", [])
        sessions.append(
            {
                "ended": _now(),
                "backend": backend,
                "workers": workers,
                "wall_seconds": round(wall_seconds, 3),
                "failed_runs": [failure.job.run_id for failure in failures],
            }
        )
        manifest.update(
            status="finished" if all(run["finished"] for run in runs.values()) else "incomplete",
            config=config.to_dict(),
            config_fingerprint=config.fingerprint(),
            updated=_now(),
            seeds=config.seeds,
            runs=runs,
            failures={failure.job.run_id: failure.traceback for failure in failures},
            sessions=sessions,
            versions=package_versions(),
            git_commit=git_commit(),
        )
        self._write_json(self.root / MANIFEST, manifest)

    def read_manifest(self) -> dict[str, Any] | None:
        """Return the manifest, or None if there is none; raises ``ValueError`` if it is corrupt."""
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        return _read_json_object(path, fix=f"delete {path} and rerun the same command to rebuild it")

    def load(self) -> Records:
        """Read every finished run; raises ``FileNotFoundError`` if there is none."""
        manifest = self.read_manifest()
        if manifest is None:
            raise FileNotFoundError(
                f"{self.root} is not a results folder ({MANIFEST} not found); "
                "pass the --out folder of `pricing-sim compare` or `pricing-sim run`"
            )

        frames: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
        runs = {}
        for directory in sorted((self.root / RUNS_DIR).glob("*")):
            run = self._read_run(directory.name)
            if run is None:
                continue
            runs[directory.name] = run
            for name in TABLES:
                frames[name].append(_read_table(directory / f"{name}.parquet"))
        if not runs:
            raise FileNotFoundError(f"{self.root} contains no finished run yet")

        tables = {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}
        return Records(tables["evaluations"], tables["training"], tables["prices"], manifest, runs)

    def _read_run(self, run_id: str) -> dict[str, Any] | None:
        path = self.run_dir(run_id) / RUN_FILE
        if not path.is_file():
            return None
        return _read_json_object(path, fix=_redo_run_fix(path.parent))

    @staticmethod
    def _write_json(path: Path, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=False, default=str)
        _atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n"))


def load_records(out_dir: str | Path) -> Records:
    """Read every finished run of an output folder."""
    return ResultStore(out_dir).load()


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    _atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def package_versions() -> dict[str, str | None]:
    """Return the installed versions of the packages that shape the numbers, and Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> dict[str, Any] | None:
    """Return the commit of the source tree and whether it has local changes, or None outside git."""
    source = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=source,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def _read_json_object(path: Path, fix: str) -> dict[str, Any]:
    """Read a JSON object; raises ``ValueError`` naming ``path`` and ``fix`` if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is corrupt ({error}); {fix}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} is corrupt (expected a JSON object, got {type(data).__name__}); {fix}")
    return data


def _read_table(path: Path) -> pd.DataFrame:
    """Read one table of a finished run; raises ``ValueError`` naming the file if it is unreadable."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        # pyarrow raises ArrowInvalid (a ValueError) for a file that is not Parquet and
        # FileNotFoundError (an OSError) for a missing one.
        raise ValueError(f"{path} is unreadable ({error}); {_redo_run_fix(path.parent)}") from error


def _redo_run_fix(run_dir: Path) -> str:
    return f"delete the folder {run_dir} and rerun the same command to redo that run"


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path``; no partial file survives."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except PermissionError as error:
        raise _not_writable(path.parent, error) from error
    finally:
        if tmp.exists():
            tmp.unlink()


def _foreign_entries(root: Path) -> list[str]:
    """Return the entries of ``root`` that a run killed before its first manifest write cannot leave."""
    return [
        entry.name
        for entry in root.iterdir()
        if entry.name != RUNS_DIR and not entry.name.startswith(f".{MANIFEST}.tmp-")
    ]


def _not_writable(folder: Path, error: OSError) -> PermissionError:
    return PermissionError(
        error.errno,
        f"cannot write to the folder {folder} ({error.strerror}); make it writable or choose another output folder",
    )


def _columns(name: str, rows: list[dict[str, Any]]) -> list[str] | None:
    # Empty tables still get their columns, so that concatenation keeps the schema.
    if rows:
        return None
    return {
        "evaluations": ["run_id", "label", "agent", "seed", "eval_index", "planned_step", "step", "revenue"],
        "training": ["run_id", "label", "agent", "seed", "step", "episode_revenue", "episode_length"],
        "prices": ["run_id", "label", "agent", "seed", "period", "price"],
    }[name]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


TABLE_HEADERS = (
    "Agent",
    "Revenue [95% CI]",
    "IQM",
    "% of oracle [95% CI]",
    "Final regret",
    "Cumulative regret",
    "Mean price",
    "Note",
)


def table_rows(table: pd.DataFrame) -> list[list[str]]:
    """Format the summary table's cells as text, one list per agent."""
    rows = []
    for _, row in table.iterrows():
        rows.append(
            [
                str(row["label"]),
                _with_interval(row["revenue"], row["revenue_low"], row["revenue_high"], "{:.1f}"),
                f"{row['revenue_iqm']:.1f}",
                _with_interval(100 * row["share_of_oracle"], 100 * row["share_low"], 100 * row["share_high"], "{:.1f}"),
                f"{row['regret']:.1f}",
                "n/a" if pd.isna(row["cumulative_regret"]) else f"{row['cumulative_regret']:.0f}",
                f"{row['price_mean']:.2f}",
                str(row["flag"]),
            ]
        )
    return rows


def format_table(table: pd.DataFrame, markdown: bool = False) -> str:
    """Format the summary table as aligned plain text or as a Markdown table."""
    rows = table_rows(table)
    headers = list(TABLE_HEADERS)
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 2) + ["---"]) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in rows]
        return "\n".join(lines) + "\n"

    widths = [max(len(headers[i]), *(len(cells[i]) for cells in rows)) for i in range(len(headers))]
    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])] + [cells[i].rjust(widths[i]) for i in range(1, len(cells) - 1)]
        return "  ".join(parts + [cells[-1]]).rstrip()
    separator = "  ".join("-" * width for width in widths[:-1]) + "  " + "-" * max(4, widths[-1])
    return "\n".join([line(headers), separator] + [line(cells) for cells in rows]) + "\n"


def write_report(out_dir: str | Path, figures: bool = True):
    """Aggregate an output folder: write ``summary.csv``, ``summary.md``, ``curves.csv`` and figures.

    Returns the ``experiments.statistics.Summary``.
    """
    from experiments.statistics import summarize

    out_dir = Path(out_dir)
    records = load_records(out_dir)
    summary = summarize(records)
    _warn_missing_seeds(records, summary.table)

    write_text_atomic(out_dir / "summary.csv", summary.table.to_csv(index=False))
    write_text_atomic(out_dir / "curves.csv", summary.curves.to_csv(index=False))
    write_text_atomic(out_dir / "summary.md", _markdown_report(records, summary))
    if figures:
        from experiments.plots import plot_all

        plot_all(summary, out_dir / "figures", title=records.manifest.get("config", {}).get("name"))
    return summary


class MissingSeedsWarning(UserWarning):
    """Raised as a warning when an agent's row covers fewer seeds than the config lists."""


def _warn_missing_seeds(records: Records, table: pd.DataFrame) -> None:
    # An interrupted or partly failed sweep still gets a table, so say which rows are short.
    expected = len(records.manifest.get("seeds") or records.manifest.get("config", {}).get("seeds") or [])
    if not expected:
        return
    for row in table.itertuples():
        if row.n_seeds < expected:
            warnings.warn(
                f"{row.label}: {row.n_seeds} of {expected} seeds finished, so its row covers only those; "
                "rerun the same command to finish the others",
                MissingSeedsWarning,
                stacklevel=3,
            )


def _markdown_report(records: Records, summary) -> str:
    config = records.manifest.get("config", {})
    evaluation = config.get("evaluation", {})
    seeds = ", ".join(str(seed) for seed in summary.seeds)
    lines = [
        f"# {config.get('name', 'experiment')}",
        "",
        f"Market `{config.get('env', {}).get('id')}`, seeds {seeds}, "
        f"training budget {config.get('training', {}).get('steps')} steps, "
        f"evaluation every {evaluation.get('every')} steps on {evaluation.get('episodes')} episodes "
        f"(deterministic: {str(evaluation.get('deterministic')).lower()}).",
        "Revenue is the mean evaluation-episode revenue after training; intervals are 95% "
        "percentile-bootstrap intervals over seeds. Cumulative regret sums oracle minus realized "
        "revenue over the training episodes.",
        "",
        format_table(summary.table, markdown=True),
    ]
    return "\n".join(lines)


def _with_interval(mean: float, low: float, high: float, pattern: str) -> str:
    text = pattern.format(mean)
    if pd.isna(low) or pd.isna(high):
        return text + " [no CI]"
    return f"{text} [{pattern.format(low)}, {pattern.format(high)}]"

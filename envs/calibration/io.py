"""Read event logs and choice panels from CSV or Parquet, rejecting files that are not usable.

Every error names the file, the column or row at fault and the fix. Reading never writes
anything, so a rejected file leaves no partial output behind.

Expected columns:

* event log (``--format events``): ``user_id``, ``item_id``, ``behavior`` (view, click,
  cart, purchase, or a 0/1 purchased flag) and ``price``. Optional columns are
  ``timestamp``, ``quantity`` and promotions named ``promo_<name>``.
* choice panel (``--format choices``, one row per purchase occasion): ``user_id``,
  ``choice`` (the chosen item), ``price.<item>`` for every item; optional ``occasion_id``
  and promotion columns ``feat.<item>``, ``disp.<item>`` or ``promo.<item>``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

EVENT_COLUMNS = ("user_id", "item_id", "behavior", "price")
PANEL_COLUMNS = ("user_id", "choice")
PANEL_PRICE_PREFIX = "price."
PANEL_PROMOTION_PREFIXES = ("feat.", "disp.", "promo.")

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_PARQUET_MAGIC = b"PAR1"


class DataFormatError(ValueError):
    """A data file that cannot be used: wrong layout, missing columns, or unreadable bytes."""


def read_table(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, raising errors that name the fix.

    Args:
        path: the file. ``.parquet``/``.pq`` files (or any file starting with the Parquet
            magic bytes) are read as Parquet, everything else as delimited text.
        sep: the delimiter of a text file; None means a comma, or a tab for ``.tsv``.

    Raises:
        FileNotFoundError: the file does not exist.
        DataFormatError: the file is empty, unreadable, not a table, or uses another delimiter.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {str(path)!r} not found; check the path and spelling")
    if path.is_dir():
        raise DataFormatError(f"{str(path)!r} is a directory, not a data file; pass a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataFormatError(f"data file {str(path)!r} is empty (0 bytes); export the log again")

    with path.open("rb") as handle:
        head = handle.read(4096)
    if path.suffix.lower() in _PARQUET_SUFFIXES or head.startswith(_PARQUET_MAGIC):
        frame = _read_parquet(path)
    else:
        frame = _read_text(path, head, sep)

    if frame.shape[0] == 0:
        raise DataFormatError(
            f"data file {str(path)!r} has a header but no data rows; export the log again with its rows"
        )
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataFormatError(
            f"data file {str(path)!r} is not a readable Parquet file ({error}); "
            "write it again with pandas.DataFrame.to_parquet or save it as CSV"
        ) from error


def _first_non_utf8_byte(path: Path) -> tuple[int, int, bytes]:
    """Return the 1-based line, the file offset and the value of the first byte that is not UTF-8."""
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return number, offset + error.start, line[error.start : error.start + 1]
            offset += len(line)
    return 0, offset, b""


def _read_text(path: Path, head: bytes, sep: str | None) -> pd.DataFrame:
    if b"\x00" in head:
        raise DataFormatError(
            f"data file {str(path)!r} is unreadable: it contains binary bytes and is neither CSV "
            "nor Parquet; save the log as CSV (comma-separated, UTF-8) or Parquet"
        )
    if sep is None:
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=sep, encoding="utf-8", low_memory=False)
    except UnicodeDecodeError as error:
        # The error's offset is relative to pandas' read buffer, so locate the byte again.
        line, offset, byte = _first_non_utf8_byte(path)
        raise DataFormatError(
            f"data file {str(path)!r} is unreadable: byte {byte!r} at line {line}, byte offset {offset} "
            "is not UTF-8 text; save the file as UTF-8 CSV or Parquet"
        ) from error
    except pd.errors.EmptyDataError as error:
        raise DataFormatError(
            f"data file {str(path)!r} contains no table (only blank lines); export the log again"
        ) from error
    except pd.errors.ParserError as error:
        raise DataFormatError(
            f"data file {str(path)!r} is not a table: {error}. Every row needs the same number "
            f"of {sep!r}-separated fields as the header; quote fields that contain {sep!r}"
        ) from error

    if frame.shape[1] == 1:
        _reject_single_column(path, head, sep, str(frame.columns[0]))
    return frame


def _reject_single_column(path: Path, head: bytes, sep: str, header: str) -> None:
    # A single column almost always means the delimiter is wrong or the file is not a table.
    try:
        first_line = head.decode("utf-8", errors="replace").splitlines()[0]
        dialect = csv.Sniffer().sniff(first_line, delimiters=";\t|")
        guessed = dialect.delimiter
    except (csv.Error, IndexError):
        guessed = None
    if guessed is not None and guessed != sep and guessed in first_line:
        raise DataFormatError(
            f"data file {str(path)!r} has a single column {header!r}: it looks delimited by "
            f"{guessed!r}, not {sep!r}; save it comma-separated or pass sep={guessed!r} "
            f"(--sep on the command line)"
        )
    raise DataFormatError(
        f"data file {str(path)!r} is not a table: the header {header!r} has a single column; "
        "expected comma-separated columns such as user_id,item_id,behavior,price"
    )


def require_columns(frame: pd.DataFrame, required: tuple[str, ...], path: str, fmt: str) -> None:
    """Raise DataFormatError naming every required column that ``frame`` lacks."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise DataFormatError(
            f"data file {path!r} is missing the required column(s) {missing} for --format {fmt}; "
            f"found columns {list(map(str, frame.columns))}. Rename the columns or pick the other --format"
        )


def panel_items(frame: pd.DataFrame, path: str) -> list[str]:
    """Return the item names of a wide choice panel, read from its ``price.<item>`` columns."""
    items = [str(c)[len(PANEL_PRICE_PREFIX):] for c in frame.columns if str(c).startswith(PANEL_PRICE_PREFIX)]
    if len(items) < 2:
        raise DataFormatError(
            f"data file {path!r} has {len(items)} 'price.<item>' column(s); a choice panel needs "
            f"one per item and at least two items (found columns {list(map(str, frame.columns))})"
        )
    return items


def load_event_table(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read an event log and check that its required columns are present."""
    frame = read_table(path, sep)
    require_columns(frame, EVENT_COLUMNS, str(path), "events")
    return frame


def load_panel_table(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a wide choice panel and check its required and per-item price columns."""
    frame = read_table(path, sep)
    require_columns(frame, PANEL_COLUMNS, str(path), "choices")
    panel_items(frame, str(path))
    return frame

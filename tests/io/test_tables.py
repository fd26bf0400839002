"""Interchange tables round-trip through Parquet and CSV, extra columns carried."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skyfence.errors import DataError
from skyfence.io.tables import TableWriter, read_table, write_table

COLS = {"time": "float64", "sensor_id": "str", "truth_id": "int64", "range_m": "float64"}


def sample(n: int = 5) -> dict[str, np.ndarray]:
    return {
        "time": 1.75e9 + np.arange(n) * 0.25,
        "sensor_id": np.array(["r1", "", "r2", "r1", "df"][:n], dtype=object),
        "truth_id": np.array([0, -1, 2, 3, 4][:n], dtype=np.int64),
        "range_m": np.array([100.5, np.nan, 3.0, 4e4, np.nan][:n]),
    }


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    data = sample()
    assert write_table(path, data, COLS) == 5
    back = read_table(path, COLS)
    np.testing.assert_array_equal(back["time"], data["time"])
    np.testing.assert_array_equal(back["truth_id"], data["truth_id"])
    np.testing.assert_array_equal(np.isnan(back["range_m"]), np.isnan(data["range_m"]))
    assert back["sensor_id"].tolist() == data["sensor_id"].tolist()


def test_streaming_writer_appends_chunks(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    with TableWriter(path, COLS) as w:
        w.write(sample(3))
        w.write({k: v[:0] for k, v in sample().items()})
        w.write(sample(2))
    back = read_table(path)
    assert back["time"].size == 5


def test_extra_columns_are_carried_and_missing_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,sensor_id,my_note\n1.0,a,hello\n", "utf-8")
    back = read_table(path, {"time": "float64", "sensor_id": "str"})
    assert back["my_note"].tolist() == ["hello"]
    with pytest.raises(DataError, match=r"t\.csv: required column 'truth_id' is missing"):
        read_table(path, {"truth_id": "int64"})


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="must be one of .parquet, .csv"):
        read_table(tmp_path / "t.xlsx")

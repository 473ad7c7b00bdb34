"""The upload modules on real files written to tmp_path: format sniffing, checks, limits."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openml_backend.uploads import checks, formats, receive
from openml_backend.uploads.problems import (
    FileLimitExceeded,
    InvalidFile,
    InvalidMetadata,
    UnsupportedFormat,
    UploadTooLarge,
)

IRIS_ARFF = """% a comment before the header
@RELATION iris

@ATTRIBUTE 'sepal length' REAL
@ATTRIBUTE petalwidth numeric
@ATTRIBUTE class {Iris-setosa,Iris-versicolor}

@DATA
5.1,0.2,Iris-setosa
% a comment among rows
7.0,1.4,'Iris-versicolor'
"""


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def parquet_file(tmp_path, name="data.bin"):
    path = tmp_path / name
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), path)
    return path


# sniffing


def test_formats_are_told_by_content_not_name(tmp_path):
    assert formats.sniff(write(tmp_path, "data.parquet", "a,b\n1,2\n")) == formats.CSV
    assert formats.sniff(write(tmp_path, "data.csv", IRIS_ARFF)) == formats.ARFF
    assert formats.sniff(parquet_file(tmp_path, "data.csv")) == formats.PARQUET


def test_empty_and_blank_files_are_refused(tmp_path):
    for content in (b"", b"\n  \n"):
        with pytest.raises(InvalidFile, match="empty"):
            formats.sniff(write(tmp_path, "empty", content))


def test_binary_that_is_not_parquet_is_unsupported(tmp_path):
    with pytest.raises(UnsupportedFormat):
        formats.sniff(write(tmp_path, "x.parquet", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))


# CSV


def test_valid_csv_gives_columns_and_rows(tmp_path):
    path = write(tmp_path, "d", 'a,b,"c, quoted"\n1,2,3\n4,"multi\nline",6\n')
    assert checks.inspect(path, formats.CSV) == checks.Inspection("csv", ["a", "b", "c, quoted"], 2)


def test_csv_row_with_wrong_field_count_names_its_line(tmp_path):
    # The quoted value spans lines 3-4, and an empty line 5: the bad row is on line 7.
    path = write(tmp_path, "d", 'a,b,c\n1,2,3\n4,"x\ny",6\n\n7,8,9\n10,11\n')
    with pytest.raises(InvalidFile) as caught:
        checks.inspect(path, formats.CSV)
    assert caught.value.line == 7
    assert str(caught.value) == "line 7: expected 3 fields, got 2."


def test_csv_with_too_many_fields(tmp_path):
    path = write(tmp_path, "d", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidFile, match="^line 3: expected 2 fields, got 3.$"):
        checks.inspect(path, formats.CSV)


def test_csv_header_only_and_bad_header_names(tmp_path):
    with pytest.raises(InvalidFile, match="no data rows"):
        checks.inspect(write(tmp_path, "d", "a,b\n"), formats.CSV)
    with pytest.raises(InvalidFile, match="appears twice"):
        checks.inspect(write(tmp_path, "d", "a,b,a\n1,2,3\n"), formats.CSV)
    with pytest.raises(InvalidFile, match="column 2 has no name"):
        checks.inspect(write(tmp_path, "d", "a,,c\n1,2,3\n"), formats.CSV)


def test_csv_bomb_a_million_columns_is_refused_with_the_limit(tmp_path):
    header = ",".join(f"c{i}" for i in range(1_000_000))
    path = write(tmp_path, "bomb", header + "\n" + ",".join("1" * 1_000_000) + "\n")
    with pytest.raises(FileLimitExceeded) as caught:
        checks.inspect(path, formats.CSV)
    assert f"more than {checks.MAX_COLUMNS} columns" in str(caught.value)
    assert caught.value.line == 1


def test_csv_just_over_the_column_limit_in_a_short_header(tmp_path):
    header = ",".join("c" for _ in range(checks.MAX_COLUMNS + 1))  # short names, well under a MiB
    with pytest.raises(FileLimitExceeded, match=f"{checks.MAX_COLUMNS + 1} columns"):
        checks.inspect(write(tmp_path, "d", header + "\n"), formats.CSV)


def test_csv_not_utf8(tmp_path):
    with pytest.raises(InvalidFile):
        checks.inspect(write(tmp_path, "d", "name,town\nx,K\xf6ln\n".encode("latin-1")), formats.CSV)


# ARFF


def test_valid_arff(tmp_path):
    result = checks.inspect(write(tmp_path, "d", IRIS_ARFF), formats.ARFF)
    assert result == checks.Inspection("arff", ["sepal length", "petalwidth", "class"], 2)


@pytest.mark.parametrize("broken, line, message", [
    ("@ATTRIBUTE petalwidth", 5, "expected '@attribute <name> <type>'"),
    ("@ATTRIBUTE petalwidth nonsense", 5, "unknown type 'nonsense'"),
    ("@ATTRIBUTE class {Iris-setosa,Iris-versicolor", 6, "do not end with '}'"),
    ("@DATUM", 8, "expected @attribute or @data"),
    ("@ATTRIBUTE x numeric", 1, "expected '@relation <name>' first"),
])
def test_arff_header_errors_name_the_line(tmp_path, broken, line, message):
    lines = IRIS_ARFF.splitlines()
    lines[line - 1] = broken
    with pytest.raises(InvalidFile) as caught:
        checks.inspect(write(tmp_path, "d", "\n".join(lines) + "\n"), formats.ARFF)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")
    assert message in str(caught.value)


def test_arff_without_data_or_with_a_short_row(tmp_path):
    header_only = IRIS_ARFF.split("@DATA")[0]
    with pytest.raises(InvalidFile, match="no @data"):
        checks.inspect(write(tmp_path, "d", header_only), formats.ARFF)
    with pytest.raises(InvalidFile, match="^line 12: expected 3 fields, got 2.$"):
        checks.inspect(write(tmp_path, "d", IRIS_ARFF + "6.3,'Iris, setosa'\n"), formats.ARFF)


def test_sparse_arff_rows(tmp_path):
    sparse = "@relation s\n@attribute a numeric\n@attribute b numeric\n@data\n{0 1, 1 2}\n{1 5}\n"
    assert checks.inspect(write(tmp_path, "d", sparse), formats.ARFF).rows == 2
    with pytest.raises(InvalidFile, match="^line 6: sparse index '2'"):
        checks.inspect(write(tmp_path, "d", sparse.replace("{1 5}", "{2 5}")), formats.ARFF)


def test_arff_line_over_the_limit(tmp_path):
    path = write(tmp_path, "d", "@relation x\n@attribute " + "a" * (checks.MAX_LINE_BYTES + 10) + " numeric\n")
    with pytest.raises(FileLimitExceeded, match="^line 2: longer than"):
        checks.inspect(path, formats.ARFF)


# Parquet


def test_valid_parquet_read_from_its_footer(tmp_path):
    assert checks.inspect(parquet_file(tmp_path), formats.PARQUET) == checks.Inspection("parquet", ["a", "b"], 3)


def test_parquet_that_is_not_parquet(tmp_path):
    path = write(tmp_path, "fake.parquet", b"PAR1 this only starts like parquet\n" * 10)
    assert formats.sniff(path) == formats.PARQUET
    with pytest.raises(InvalidFile, match="not a valid Parquet file"):
        checks.inspect(path, formats.PARQUET)


def test_truncated_parquet(tmp_path):
    whole = parquet_file(tmp_path).read_bytes()
    with pytest.raises(InvalidFile, match="not a valid Parquet file"):
        checks.inspect(write(tmp_path, "cut", whole[: len(whole) // 2]), formats.PARQUET)


# metadata columns


def test_metadata_must_name_existing_columns():
    checks.require_columns({"default_target_attribute": ["class"], "ignore_attribute": []}, ["a", "class"])
    with pytest.raises(InvalidMetadata) as caught:
        checks.require_columns({"row_id_attribute": ["id"]}, ["a", "class"])
    assert caught.value.column == "id"
    assert "metadata.row_id_attribute" in str(caught.value)


# receiving


def test_copy_limited_stops_at_the_limit_and_writes_no_more(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(UploadTooLarge):
        receive.copy_limited(io.BytesIO(b"x" * (receive.COPY_CHUNK_BYTES * 3)), target, receive.COPY_CHUNK_BYTES)
    assert target.stat().st_size <= receive.COPY_CHUNK_BYTES
    assert receive.copy_limited(io.BytesIO(b"abc"), tmp_path / "ok", 3) == 3


def test_declared_length_over_the_limit_is_refused_before_reading():
    receive.check_declared_length(100, 100)
    receive.check_declared_length(None, 100)
    with pytest.raises(UploadTooLarge):
        receive.check_declared_length(101, 100)


def test_upload_directory_is_removed_with_its_files_even_after_an_error(tmp_path):
    with pytest.raises(RuntimeError):
        with receive.UploadDirectory(tmp_path / "uploads") as directory:
            (directory.path / "file").write_bytes(b"data")
            raise RuntimeError("boom")
    assert list((tmp_path / "uploads").iterdir()) == []

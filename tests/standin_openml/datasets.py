"""The datasets the stand-in OpenML server serves, and the ids that always fault.

Three sources:

* the real fixtures in ``tests/fixtures/openml``:
  anneal (2, ARFF), abalone (30, parquet; description and features written here from the
  parquet schema), iris (61, the real description; its 150 rows regenerated from
  scikit-learn and served as parquet and ARFF) and dexter (4136, a 2-row, 20,001-column
  sparse ARFF; features written from its header);
* generated edge cases, ids 9001-9099 (``GENERATED_DATASETS`` lists them);
* fault ids 9901-9999 (``FAULT_IDS``): every request for them faults, in any process that
  talks to the server, so a server started by one process can be used to test another.

Everything here is built once, at server start, into ``ServedDataset`` values whose
description XML carries the placeholder ``@@BASE@@`` where the server's own URL goes.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Sequence
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.parquet as pq

from tests.paths import OPENML_FIXTURES, openml_fixture

BASE = "@@BASE@@"

# Ids the real OpenML uses for these datasets (dexter is 4136 on openml.org; its fixture
# description says -1 because it was never uploaded from there).
ANNEAL_ID, ABALONE_ID, IRIS_ID, DEXTER_ID = 2, 30, 61, 4136
IRIS_CLASSES = ("Iris-setosa", "Iris-versicolor", "Iris-virginica")


@dataclass(frozen=True)
class Feature:
    """One feature as the features XML lists it."""

    name: str
    data_type: str  # numeric | nominal | string | date
    nominal_values: tuple[str, ...] | None = None
    missing: int = 0
    is_target: bool = False
    is_ignore: bool = False
    is_row_identifier: bool = False


@dataclass(frozen=True)
class ServedDataset:
    """What the server answers for one dataset id (``None`` parts answer 404)."""

    dataset_id: int
    name: str
    description_xml: str  # with BASE where the server's URL goes
    features_xml: str | None
    arff: bytes | None
    parquet: bytes | None
    qualities_xml: str | None = None
    private: bool = False

    @property
    def arff_path(self) -> str:
        return f"/data/v1/download/{self.dataset_id}/{self.name}.arff"

    @property
    def parquet_path(self) -> str:
        return parquet_path_for(self.dataset_id)

    @cached_property
    def parquet_etag(self) -> str:
        """The parquet file's S3 ETag (its md5), computed once: an object store keeps it with
        the object rather than hashing hundreds of MiB per request."""
        return md5(self.parquet) if self.parquet is not None else ""


def parquet_path_for(dataset_id: int) -> str:
    """The object-store path OpenML uses: bucket ``datasets``, key ``0000/0061/dataset_61.pq``."""
    return f"/datasets/{dataset_id // 10000:04d}/{dataset_id % 10000:04d}/dataset_{dataset_id}.pq"


@dataclass(frozen=True)
class Fault:
    """A fault the server injects for one dataset id.

    kind: ``error412`` (an ``oml:error`` body with ``code``), ``http500``, ``hang`` (accept,
    never answer until the server stops or ``seconds`` pass) or ``slow`` (answer normally
    after ``seconds``). on: ``all`` requests of the id, ``metadata`` (description, features,
    qualities) or ``data`` (ARFF and parquet downloads).
    """

    kind: str
    on: str = "all"  # all | metadata | description | data
    seconds: float = 600.0
    code: int = 111
    message: str = "Unknown dataset"
    body: str | None = None
    serves: int | None = None  # a dataset id whose content this id serves when not faulting

    def applies_to(self, request_kind: str) -> bool:
        if self.on == "metadata":
            return request_kind in ("description", "features", "qualities")
        if self.on == "data":
            return request_kind in ("arff", "parquet")
        return self.on in ("all", request_kind)


FAULT_KINDS = ("error412", "http500", "hang", "slow")
FAULT_SCOPES = ("all", "metadata", "description", "data")


def _error_fixture() -> str:
    return openml_fixture("errors", "dataset_does_not_exist.xml").read_text(encoding="utf-8")


def fault_ids() -> dict[int, Fault]:
    """Ids that always fault (documented in the README of the stand-in)."""
    return {
        9901: Fault("error412", code=111, message="Unknown dataset"),
        9902: Fault("error412", code=352, body=_error_fixture()),
        9903: Fault("http500"),
        9904: Fault("hang"),
        9905: Fault("slow", on="description", seconds=3.0, serves=IRIS_ID),
        9906: Fault("hang", on="data", serves=IRIS_ID),
        9907: Fault("http500", on="data", serves=IRIS_ID),
        9908: Fault("error412", code=112, message="No access granted"),
    }


FAULT_IDS_DOC = {
    9901: "412, oml:error code 111 (unknown dataset)",
    9902: "412, the fixture errors/dataset_does_not_exist.xml (code 352)",
    9903: "HTTP 500 with an HTML body, on every request",
    9904: "hang: accepts the connection and never answers (until the server stops, <= 600 s)",
    9905: "slow: iris, its description answered after 3 s (the rest at once)",
    9906: "iris metadata, then a hang on the data download (parquet and ARFF)",
    9907: "iris metadata, then HTTP 500 on the data download (parquet and ARFF)",
    9908: "412, oml:error code 112 (no access granted), like a private dataset",
}


# --- XML writers ---------------------------------------------------------------------------

def description_xml(
    dataset_id: int,
    name: str,
    *,
    data_format: str = "ARFF",
    with_parquet: bool,
    default_target: str | None = None,
    ignore: Sequence[str] = (),
    row_id: str | None = None,
    visibility: str = "public",
    text: str = "",
) -> str:
    """A ``data_set_description`` in the shape openml.org answers (urls point at BASE)."""
    parts = [
        '<oml:data_set_description xmlns:oml="http://openml.org/openml">',
        f"  <oml:id>{dataset_id}</oml:id>",
        f"  <oml:name>{escape(name)}</oml:name>",
        "  <oml:version>1</oml:version>",
        f"  <oml:description>{escape(text or name)}</oml:description>",
        f"  <oml:format>{data_format}</oml:format>",
        "  <oml:upload_date>2026-01-01T00:00:00</oml:upload_date>",
        "  <oml:licence>Public</oml:licence>",
        f"  <oml:url>{BASE}/data/v1/download/{dataset_id}/{escape(name)}.arff</oml:url>",
    ]
    if with_parquet:
        parts.append(f"  <oml:parquet_url>{BASE}{parquet_path_for(dataset_id)}</oml:parquet_url>")
    parts.append(f"  <oml:file_id>{dataset_id}</oml:file_id>")
    if default_target:
        parts.append(f"  <oml:default_target_attribute>{escape(default_target)}</oml:default_target_attribute>")
    if row_id:
        parts.append(f"  <oml:row_id_attribute>{escape(row_id)}</oml:row_id_attribute>")
    for name_ in ignore:
        parts.append(f"  <oml:ignore_attribute>{escape(name_)}</oml:ignore_attribute>")
    parts += [
        f"  <oml:visibility>{visibility}</oml:visibility>",
        "  <oml:status>active</oml:status>",
        "  <oml:md5_checksum>@@MD5@@</oml:md5_checksum>",
        "</oml:data_set_description>",
    ]
    return "\n".join(parts) + "\n"


def features_xml(features: Iterable[Feature]) -> str:
    """A ``data_features`` document, features indexed 0..n-1 in order."""
    out = ['<oml:data_features xmlns:oml="http://openml.org/openml">']
    for index, feature in enumerate(features):
        out.append("  <oml:feature>")
        out.append(f"    <oml:index>{index}</oml:index>")
        out.append(f"    <oml:name>{escape(feature.name)}</oml:name>")
        out.append(f"    <oml:data_type>{feature.data_type}</oml:data_type>")
        for value in feature.nominal_values or ():
            out.append(f"    <oml:nominal_value>{escape(value)}</oml:nominal_value>")
        out.append(f"    <oml:is_target>{str(feature.is_target).lower()}</oml:is_target>")
        out.append(f"    <oml:is_ignore>{str(feature.is_ignore).lower()}</oml:is_ignore>")
        out.append(
            f"    <oml:is_row_identifier>{str(feature.is_row_identifier).lower()}</oml:is_row_identifier>"
        )
        out.append(f"    <oml:number_of_missing_values>{feature.missing}</oml:number_of_missing_values>")
        out.append("  </oml:feature>")
    out.append("</oml:data_features>")
    return "\n".join(out) + "\n"


def error_xml(code: int, message: str) -> str:
    """An ``oml:error`` body as OpenML sends it with HTTP 412."""
    return (
        '<oml:error xmlns:oml="http://openml.org/openml">\n'
        f"  <oml:code>{code}</oml:code>\n"
        f"  <oml:message>{escape(message)}</oml:message>\n"
        "</oml:error>\n"
    )


def set_element(xml: str, tag: str, value: str | None) -> str:
    """Replace the text of ``<oml:tag>`` (added before the end if absent; removed if None)."""
    pattern = re.compile(rf"<oml:{tag}>.*?</oml:{tag}>|<oml:{tag}\s*/>", re.DOTALL)
    if value is None:
        return pattern.sub("", xml)
    element = f"<oml:{tag}>{value}</oml:{tag}>"
    if pattern.search(xml):
        return pattern.sub(lambda _m: element, xml, count=1)
    return xml.replace("</oml:data_set_description>", f"  {element}\n</oml:data_set_description>")


# --- ARFF and parquet writers ----------------------------------------------------------------

def _arff_quote(value: str) -> str:
    if value == "" or re.search(r"[\s,{}'\"%?\\]", value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return value


def _arff_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value) if isinstance(value, float) else str(value)


def arff_from_table(relation: str, table: pa.Table, features: Sequence[Feature]) -> bytes:
    """A dense ARFF of ``table`` whose header declares ``features`` (same order)."""
    lines = [f"@relation {_arff_quote(relation)}", ""]
    for feature in features:
        if feature.data_type == "nominal":
            values = ",".join(_arff_quote(v) for v in feature.nominal_values or ())
            kind = "{" + values + "}"
        elif feature.data_type == "date":
            kind = 'date "yyyy-MM-dd"'
        elif pa.types.is_integer(table.schema.field(feature.name).type):
            kind = "integer"
        else:
            kind = feature.data_type
        lines.append(f"@attribute {_arff_quote(feature.name)} {kind}")
    lines += ["", "@data"]
    columns = [table.column(f.name).to_pylist() for f in features]
    for row in zip(*columns):
        cells = []
        for feature, value in zip(features, row):
            if value is None:
                cells.append("?")
            elif feature.data_type == "numeric":
                cells.append(_arff_number(value))
            else:
                cells.append(_arff_quote(str(value)))
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def features_from_table(
    table: pa.Table,
    *,
    target: str | None = None,
    ignore: Sequence[str] = (),
    row_id: str | None = None,
) -> list[Feature]:
    """Features read off an Arrow schema: dictionary and bool columns are nominal."""
    features = []
    for column_field in table.schema:
        column = table.column(column_field.name)
        kind = column_field.type
        values: tuple[str, ...] | None = None
        if pa.types.is_dictionary(kind):
            data_type = "nominal"
            chunks = column.combine_chunks() if column.num_chunks else None
            values = tuple(str(v) for v in chunks.dictionary.to_pylist()) if chunks is not None else ()
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            data_type = "string"
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            data_type = "date"
        else:
            data_type = "numeric"
        features.append(
            Feature(
                name=column_field.name,
                data_type=data_type,
                nominal_values=values,
                missing=_missing(column),
                is_target=column_field.name == target,
                is_ignore=column_field.name in ignore,
                is_row_identifier=column_field.name == row_id,
            )
        )
    return features


def _missing(column: pa.ChunkedArray) -> int:
    count = column.null_count
    if pa.types.is_floating(column.type):
        import pyarrow.compute as pc

        count += int(pc.sum(pc.is_nan(column.fill_null(0.0))).as_py() or 0)
    return count


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - OpenML's checksum is md5


def _finish(
    dataset_id: int,
    name: str,
    description: str,
    features: Sequence[Feature],
    *,
    arff: bytes | None,
    parquet: bytes | None,
    qualities: str | None = None,
    private: bool = False,
) -> ServedDataset:
    description = description.replace("@@MD5@@", md5(arff) if arff is not None else "")
    if arff is None:
        description = set_element(description, "md5_checksum", None)
    return ServedDataset(
        dataset_id=dataset_id,
        name=name,
        description_xml=description,
        features_xml=features_xml(features),
        arff=arff,
        parquet=parquet,
        qualities_xml=qualities,
        private=private,
    )


def _generated(
    dataset_id: int,
    name: str,
    table: pa.Table,
    *,
    target: str | None = None,
    ignore: Sequence[str] = (),
    row_id: str | None = None,
    with_parquet: bool = True,
    with_arff: bool = True,
    arff_override: bytes | None = None,
    parquet_override: bytes | None = None,
    private: bool = False,
    text: str = "",
) -> ServedDataset:
    features = features_from_table(table, target=target, ignore=ignore, row_id=row_id)
    arff = arff_override if arff_override is not None else (
        arff_from_table(name, table, features) if with_arff else None
    )
    parquet = parquet_override if parquet_override is not None else (
        parquet_bytes(table) if with_parquet else None
    )
    description = description_xml(
        dataset_id,
        name,
        with_parquet=parquet is not None,
        default_target=target,
        ignore=ignore,
        row_id=row_id,
        visibility="private" if private else "public",
        text=text,
    )
    return _finish(dataset_id, name, description, features, arff=arff, parquet=parquet, private=private)


def dataset_from_table(dataset_id: int, name: str, table: pa.Table, **options: Any) -> ServedDataset:
    """A dataset served from ``table`` (parquet and ARFF; the md5 checksum is the ARFF's), as
    the generated edge cases are; ``options`` as ``_generated`` takes them."""
    return _generated(dataset_id, name, table, **options)


def _nominal(values: Sequence[str | None], categories: Sequence[str]) -> pa.DictionaryArray:
    index = {c: i for i, c in enumerate(categories)}
    indices = pa.array([None if v is None else index[v] for v in values], type=pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(categories), type=pa.string()))


# --- the real fixtures --------------------------------------------------------------------

def _anneal(root: Path) -> ServedDataset:
    folder = root / "datasets" / "2"
    arff = (folder / "dataset.arff").read_bytes()
    description = (folder / "description.xml").read_text(encoding="utf-8")
    description = set_element(description, "url", f"{BASE}/data/v1/download/2/anneal.arff")
    description = set_element(description, "md5_checksum", md5(arff))
    return ServedDataset(
        dataset_id=ANNEAL_ID,
        name="anneal",
        description_xml=description,
        features_xml=(folder / "features.xml").read_text(encoding="utf-8"),
        arff=arff,
        parquet=None,
        qualities_xml=(folder / "qualities.xml").read_text(encoding="utf-8"),
    )


def _abalone(root: Path) -> ServedDataset:
    parquet = (root / "datasets" / "30" / "dataset_30.pq").read_bytes()
    table = pq.read_table(io.BytesIO(parquet))
    target = table.column_names[-1]  # Class_number_of_rings
    features = features_from_table(table, target=target)
    description = description_xml(ABALONE_ID, "abalone", with_parquet=True, default_target=target)
    arff = arff_from_table("abalone", table, features)
    return _finish(ABALONE_ID, "abalone", description, features, arff=arff, parquet=parquet)


def iris_table() -> pa.Table:
    """The 150 iris rows (scikit-learn's copy of Fisher's data) with OpenML's names."""
    from sklearn.datasets import load_iris

    bunch = load_iris()
    names = ["sepallength", "sepalwidth", "petallength", "petalwidth"]
    columns = {name: pa.array(bunch.data[:, i].round(1), type=pa.float64()) for i, name in enumerate(names)}
    columns["class"] = _nominal([IRIS_CLASSES[t] for t in bunch.target], IRIS_CLASSES)
    return pa.table(columns)


def _iris(root: Path) -> ServedDataset:
    table = iris_table()
    features = features_from_table(table, target="class")
    arff = arff_from_table("iris", table, features)
    description = (root / "datasets" / "61" / "description.xml").read_text(encoding="utf-8")
    description = set_element(description, "url", f"{BASE}/data/v1/download/61/iris.arff")
    for tag in ("parquet_url", "minio_url"):
        description = set_element(description, tag, f"{BASE}{parquet_path_for(IRIS_ID)}")
    description = set_element(description, "md5_checksum", md5(arff))
    return ServedDataset(
        dataset_id=IRIS_ID,
        name="iris",
        description_xml=description,
        features_xml=features_xml(features),
        arff=arff,
        parquet=parquet_bytes(table),
    )


_ARFF_ATTRIBUTE = re.compile(r"@attribute\s+('(?:[^'\\]|\\.)*'|\S+)\s+(.+)$", re.IGNORECASE)


def _features_from_arff_header(arff: bytes, target: str | None) -> list[Feature]:
    features = []
    for raw in arff.decode("utf-8").splitlines():
        line = raw.strip()
        if line.lower().startswith("@data"):
            break
        match = _ARFF_ATTRIBUTE.match(line)
        if not match:
            continue
        name, kind = match.group(1).strip("'"), match.group(2).strip()
        if kind.startswith("{"):
            values = tuple(v.strip().strip("'") for v in kind.strip("{}").split(","))
            feature = Feature(name, "nominal", values, is_target=name == target)
        elif kind.lower() == "string":
            feature = Feature(name, "string", is_target=name == target)
        else:
            feature = Feature(name, "numeric", is_target=name == target)
        features.append(feature)
    return features


def _dexter(root: Path) -> ServedDataset:
    folder = root / "datasets" / "dexter"
    arff = (folder / "dataset.arff").read_bytes()
    description = (folder / "description.xml").read_text(encoding="utf-8")
    description = set_element(description, "id", str(DEXTER_ID))
    description = set_element(description, "url", f"{BASE}/data/v1/download/{DEXTER_ID}/dexter.arff")
    description = set_element(description, "md5_checksum", md5(arff))
    features = _features_from_arff_header(arff, target="class")
    return ServedDataset(
        dataset_id=DEXTER_ID,
        name="dexter",
        description_xml=description,
        features_xml=features_xml(features),
        arff=arff,
        parquet=None,
        qualities_xml=(folder / "qualities.xml").read_text(encoding="utf-8"),
    )


# --- generated edge cases ---------------------------------------------------------------------

GENERATED_DATASETS = {
    9001: "empty: 0 rows (numeric, nominal, target)",
    9002: "one_row: 1 row",
    9003: "constant: constant float, integer and nominal columns, 20 rows",
    9004: "all_missing: an all-missing numeric and an all-missing nominal column, 10 rows",
    9005: "infinities: +inf, -inf, NaN and finite values in one column, 8 rows",
    9006: "strings: a string feature (with a missing value), 5 rows",
    9007: "dates: a date feature (parquet only; the client's ARFF reader has no date type)",
    9008: "roles: default_target_attribute, ignore_attribute and row_id_attribute set, 6 rows",
    9009: "high_cardinality: a nominal with 120 categories, 600 rows",
    9010: "private: every request answers 412 code 112 (no access granted)",
    9011: "garbage_arff: ARFF path, the ARFF body is not ARFF",
    9012: "corrupt_parquet_garbage_arff: parquet bytes are garbage and so is the ARFF",
    9013: "corrupt_parquet_good_arff: garbage parquet, valid ARFF (the ARFF fallback works)",
    9014: "integers: int64 columns with and without missing values, ARFF only",
    9015: "hostile_names: a column named <script>alert(1)</script>, markup in category values, 6 rows",
}

# Names and values a page must show as text and never run (9015).
SCRIPT_COLUMN = "<script>alert(1)</script>"
MARKUP_CATEGORY = '<img src=x onerror="alert(2)">'


GARBAGE = b"\x00\x01this is not a data file\n@data\n{{{,,,'\x02\n" * 20


def _generated_datasets() -> list[ServedDataset]:
    import datetime as dt

    def base_columns(n: int) -> dict[str, pa.Array]:
        return {
            "x": pa.array([float(i) / 2 for i in range(n)], type=pa.float64()),
            "colour": _nominal([("red", "green")[i % 2] for i in range(n)], ("red", "green")),
            "label": _nominal([("yes", "no")[(i // 2) % 2] for i in range(n)], ("yes", "no")),
        }

    datasets = [
        _generated(9001, "empty", pa.table(base_columns(0)), target="label"),
        _generated(9002, "one_row", pa.table(base_columns(1)), target="label"),
        _generated(
            9003,
            "constant",
            pa.table({
                "const_float": pa.array([7.5] * 20, type=pa.float64()),
                "const_int": pa.array([3] * 20, type=pa.int64()),
                "const_nominal": _nominal(["x"] * 20, ("x", "y")),
                "label": _nominal([("a", "b")[i % 2] for i in range(20)], ("a", "b")),
            }),
            target="label",
        ),
        _generated(
            9004,
            "all_missing",
            pa.table({
                "nothing_numeric": pa.array([None] * 10, type=pa.float64()),
                "nothing_nominal": _nominal([None] * 10, ("p", "q")),
                "x": pa.array([float(i) for i in range(10)], type=pa.float64()),
                "label": _nominal([("a", "b")[i % 2] for i in range(10)], ("a", "b")),
            }),
            target="label",
        ),
        _generated(
            9005,
            "infinities",
            pa.table({
                "x": pa.array([1.0, math.inf, -math.inf, None, 2.5, math.inf, 0.0, -1.0], type=pa.float64()),
                "label": _nominal(["a", "b"] * 4, ("a", "b")),
            }),
            target="label",
        ),
        _generated(
            9006,
            "strings",
            pa.table({
                "text": pa.array(["alpha", "beta gamma", None, "it's", "delta, epsilon"], type=pa.string()),
                "x": pa.array([1.0, 2.0, 3.0, 4.0, 5.0], type=pa.float64()),
            }),
        ),
        _generated(
            9007,
            "dates",
            pa.table({
                "day": pa.array(
                    [dt.datetime(2020, 1, 1) + dt.timedelta(days=i) for i in range(4)] + [None],
                    type=pa.timestamp("ms"),
                ),
                "x": pa.array([1.0, 2.0, 3.0, 4.0, 5.0], type=pa.float64()),
            }),
        ),
        _generated(
            9008,
            "roles",
            pa.table({
                "row_id": pa.array(list(range(100, 106)), type=pa.int64()),
                "x": pa.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], type=pa.float64()),
                "secret": pa.array([9.0] * 6, type=pa.float64()),
                "comment": _nominal(["c1", "c2", "c1", "c2", "c1", "c2"], ("c1", "c2")),
                "outcome": _nominal(["win", "lose", "win", "draw", "win", "lose"], ("win", "lose", "draw")),
            }),
            target="outcome",
            ignore=("secret", "comment"),
            row_id="row_id",
        ),
        _generated(
            9009,
            "high_cardinality",
            pa.table({
                "city": _nominal([f"c{i % 120:03d}" for i in range(600)], tuple(f"c{i:03d}" for i in range(120))),
                "x": pa.array([float(i % 7) for i in range(600)], type=pa.float64()),
            }),
        ),
        _generated(9010, "private", pa.table(base_columns(4)), target="label", private=True),
        _generated(9011, "garbage_arff", pa.table(base_columns(4)), with_parquet=False, arff_override=GARBAGE),
        _generated(
            9012, "corrupt_parquet_garbage_arff", pa.table(base_columns(4)),
            parquet_override=GARBAGE, arff_override=GARBAGE,
        ),
        _generated(9013, "corrupt_parquet_good_arff", pa.table(base_columns(4)), parquet_override=GARBAGE),
        _generated(
            9014,
            "integers",
            pa.table({
                "count": pa.array([1, 2, 300, 4, 5], type=pa.int64()),
                "small": pa.array([0, 1, 2, 3, 4], type=pa.int64()),
                "gappy": pa.array([10, None, 30, None, 50], type=pa.int64()),
            }),
            with_parquet=False,
        ),
        _generated(
            9015,
            "hostile_names",
            pa.table({
                SCRIPT_COLUMN: pa.array([1.0, 2.0, 3.5, None, 5.0, 8.0], type=pa.float64()),
                "x": pa.array([2.0, 1.0, 4.0, 3.0, 6.0, 5.0], type=pa.float64()),
                "tag": _nominal([MARKUP_CATEGORY, "plain", MARKUP_CATEGORY, "a & b", "plain", MARKUP_CATEGORY],
                                (MARKUP_CATEGORY, "plain", "a & b")),
                "note": pa.array(["</td></tr><b>bold</b>", "it's \"quoted\"", None, "ok", "ok", "x"],
                                 type=pa.string()),
            }),
            target="tag",
        ),
    ]
    assert {d.dataset_id for d in datasets} == set(GENERATED_DATASETS)
    return datasets


@dataclass
class Catalogue:
    """All datasets the server serves and the ids that always fault, by id."""

    datasets: dict[int, ServedDataset] = field(default_factory=dict)
    faults: dict[int, Fault] = field(default_factory=dict)


def build_catalogue() -> Catalogue:
    """Read the fixtures and generate the edge cases (about a second: iris needs scikit-learn)."""
    root = OPENML_FIXTURES
    served = [_anneal(root), _abalone(root), _iris(root), _dexter(root), *_generated_datasets()]
    return Catalogue(datasets={d.dataset_id: d for d in served}, faults=fault_ids())

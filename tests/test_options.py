"""ei_options in CPython, one function at a time: the defaults checked() gives, every field it
refuses and the words it uses, the API paths, file names made from labels, and x-metadata as
exact header text at its size limit. (The same options in both runtimes, end to end, are in
test_bad_calls.py, test_upload.py and test_spool_answers.py.)
"""

from __future__ import annotations

import json

import ei_options
import pytest


def test_defaults() -> None:
    assert ei_options.checked() == {
        "label": None, "category": "training", "fmt": "cbor", "endpoint": "files",
        "filename": None, "nodup": True, "dateid": False, "metadata": None,
    }  # fmt: skip
    assert ei_options.checked(fmt="binary")["endpoint"] == "data", "as the data forwarder"
    assert ei_options.checked(fmt="binary", endpoint="files")["endpoint"] == "files"
    opts = ei_options.checked("idle", "testing", "json", "a.json", 0, 1, {"k": "v"}, "data")
    assert (opts["nodup"], opts["dateid"], opts["metadata"]) == (False, True, '{"k":"v"}')


def test_content_types_and_extensions() -> None:
    assert [ei_options.content_type(f) for f in ("cbor", "json", "binary")] == [
        "application/cbor", "application/json", "application/octet-stream",
    ]  # fmt: skip
    assert [ei_options.extension(f) for f in ("cbor", "json", "binary")] == [
        ".cbor", ".json", ".cbor",
    ]  # fmt: skip


def test_paths() -> None:
    assert ei_options.split_path("/api/testing/data") == ("testing", "data")
    opts = ei_options.checked(path="/api/anomaly/files", category="ignored")
    assert (opts["category"], opts["endpoint"]) == ("anomaly", "files")
    for bad in ("api/training/files", "x/api/training/files", "/api/training/files/",
                "/v1/training/files", "/api/training/raw", "/api/training", None):  # fmt: skip
        with pytest.raises(ValueError) as err:
            ei_options.split_path(bad)  # type: ignore[arg-type]
        assert str(err.value) == (
            f"path must be /api/<category>/files or /api/<category>/data, not {bad!r}"
        )
    with pytest.raises(ValueError, match="category must be one of training, testing, "):
        ei_options.checked(path="/api/nowhere/files")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category": "train"}, "category must be one of training, testing, anomaly, "
         "validation, split, post-processing, not 'train'"),
        ({"fmt": "csv"}, "fmt must be 'cbor', 'json' or 'binary', not 'csv'"),
        ({"endpoint": "raw"}, "endpoint must be 'files' or 'data', not 'raw'"),
        ({"label": ""}, "label is empty"),
        ({"label": "a\nb"}, "label contains a control character (0x0a)"),
        ({"filename": 7}, "filename must be a string, not int"),
        ({"filename": 'a"b.cbor'}, "filename must not contain quotes or slashes: 'a\"b.cbor'"),
        ({"filename": "a/b.cbor"}, "filename must not contain quotes or slashes: 'a/b.cbor'"),
        ({"filename": "a\\b.cbor"}, "filename must not contain quotes or slashes: 'a\\\\b.cbor'"),
        ({"metadata": ["k"]}, "metadata must be a dict of str to str, not ['k']"),
        ({"metadata": {"k": 1}}, "metadata 'k': keys and values must be strings"),
        ({"metadata": {2: "v"}}, "metadata 2: keys and values must be strings"),
        ({"metadata": {"": "v"}}, "metadata key is empty"),
        ({"metadata": {"k": "\x7f"}}, "metadata['k'] contains a control character (0x7f)"),
    ],
)  # fmt: skip
def test_bad_options_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        ei_options.checked(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_file_names_from_labels() -> None:
    def named(label: str | None, filename: str | None = None, fmt: str = "cbor") -> tuple:
        opts = ei_options.checked(label, fmt=fmt, filename=filename)
        return ei_options.name(opts, "x1"), opts["no_label"]

    assert named("idle") == ("idle.x1.cbor", False)
    assert named("idle", fmt="json") == ("idle.x1.json", False)
    assert named(None) == ("sample.x1.cbor", True), "unlabelled, never named after a label"
    assert named(None, "mine.cbor") == ("mine.cbor", False), "the server labels it by its name"
    assert named("idle", "mine.cbor") == ("mine.cbor", False)
    # Letters, digits, '-' and '_' stay; the characters just outside each range do not.
    assert named("azAZ09-_")[0] == "azAZ09-_.x1.cbor"
    assert named("`{@[/:. é")[0] == "_________.x1.cbor"
    assert named("L" * 41)[0] == "L" * 40 + ".x1.cbor"


def test_metadata_is_ascii_json_up_to_2048_bytes() -> None:
    text = ei_options.metadata_json({"site": "Zürich", "q": 'say "hi"', "e": ""})
    assert text == '{"site":"Z\\u00fcrich","q":"say \\"hi\\"","e":""}'
    assert text.isascii() and json.loads(text) == {"site": "Zürich", "q": 'say "hi"', "e": ""}
    assert ei_options.metadata_json({"Größe": "1"}) == '{"Gr\\u00f6\\u00dfe":"1"}'  # keys too
    assert ei_options.metadata_json({}) == "{}"
    largest = ei_options.metadata_json({"k": "v" * 2040})
    assert len(largest) == 2048
    with pytest.raises(ValueError) as err:
        ei_options.metadata_json({"k": "v" * 2041})
    assert str(err.value) == (
        "metadata is 2049 bytes as JSON: the x-metadata header holds at most 2048"
    )

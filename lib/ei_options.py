"""Upload options, checked in one place for Client.upload, Client.upload_file and Spool.put: the
same arguments give the same request (category, endpoint, label, file name, metadata). The
fields of the file itself (key, device, iat, names) are ei_ingest's checks.

    opts = ei_options.checked(label="idle", fmt="cbor")        # ValueError names a bad field
    ei_options.name(opts, tag)                                # the file name, label rule

`checked()` returns a plain dict, JSON-ready, so a spool keeps it beside its file and a flush
sends exactly what put() was given. A board that only collects into a spool checks its options
here without loading any network code. Memory: the module's code (about 2 KiB as .mpy);
nothing per call beyond the dict.
"""

from ei_ingest import FORMATS, check_text
from micropython import const

_MAX_METADATA = const(2048)  # bytes of x-metadata JSON: well inside any server's header limit
CATEGORIES = ("training", "testing", "anomaly", "validation", "split", "post-processing")
ENDPOINTS = ("files", "data")


def content_type(fmt):
    return "application/octet-stream" if fmt == "binary" else "application/" + fmt


def extension(fmt):
    return ".json" if fmt == "json" else ".cbor"


def checked(
    label=None,
    category="training",
    fmt="cbor",
    filename=None,
    disallow_duplicates=True,
    add_date_id=False,
    metadata=None,
    endpoint=None,
    path=None,
):
    """Check every upload option; return them as a dict. `path` ("/api/<category>/<files|data>",
    as a remote-management request gives it) sets category and endpoint at once. The endpoint
    defaults to /data for binary payloads (as the data forwarder sends audio), else /files."""
    if path is not None:
        category, endpoint = split_path(path)
    if category not in CATEGORIES:
        raise ValueError("category must be one of %s, not %r" % (", ".join(CATEGORIES), category))
    if fmt not in FORMATS:
        raise ValueError("fmt must be 'cbor', 'json' or 'binary', not %r" % (fmt,))
    if endpoint is None:
        endpoint = "data" if fmt == "binary" else "files"
    elif endpoint not in ENDPOINTS:
        raise ValueError("endpoint must be 'files' or 'data', not %r" % (endpoint,))
    if label is not None:
        check_text("label", label)
    if filename is not None:
        check_text("filename", filename)
        if '"' in filename or "/" in filename or "\\" in filename:
            raise ValueError("filename must not contain quotes or slashes: %r" % filename)
    return {
        "label": label,
        "category": category,
        "fmt": fmt,
        "endpoint": endpoint,
        "filename": filename,
        "nodup": bool(disallow_duplicates),
        "dateid": bool(add_date_id),
        "metadata": None if metadata is None else metadata_json(metadata),
    }


def split_path(path):
    """("training", "data") from "/api/training/data"; ValueError for anything else."""
    parts = path.split("/") if isinstance(path, str) else ()
    if len(parts) != 4 or parts[0] or parts[1] != "api" or parts[3] not in ENDPOINTS:
        raise ValueError(
            "path must be /api/<category>/files or /api/<category>/data, not %r" % (path,)
        )
    return parts[2], parts[3]


def name(opts, tag):
    """Set opts["name"], the file's name (the given filename, or "<label>.<tag><ext>"), and
    opts["no_label"]: with neither a label nor a filename the file is stored unlabelled
    (x-no-label), never labelled after a name we made up."""
    opts["no_label"] = opts["label"] is None and opts["filename"] is None
    opts["name"] = opts["filename"] or _stem(opts["label"]) + "." + tag + extension(opts["fmt"])
    return opts["name"]


def metadata_json(metadata):
    """x-metadata (a dict of str to str) as a str: JSON, all ASCII (\\u escapes) so that it is a
    valid header value, at most _MAX_METADATA bytes."""
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be a dict of str to str, not %r" % (metadata,))
    import ei_json

    out = bytearray(b"{")
    for k in metadata:
        v = metadata[k]
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("metadata %r: keys and values must be strings" % (k,))
        check_text("metadata key", k)
        check_text("metadata[%r]" % k, v, empty_ok=True)
        if len(out) > 1:
            out.append(0x2C)
        ei_json.text(out, k, True)
        out.append(0x3A)
        ei_json.text(out, v, True)
    out.append(0x7D)
    if len(out) > _MAX_METADATA:
        raise ValueError(
            "metadata is %d bytes as JSON: the x-metadata header holds at most %d"
            % (len(out), _MAX_METADATA)
        )
    return out.decode()


def _stem(label):
    """A file name stem from a label: letters, digits, '-' and '_' only (others become '_')."""
    if not label:
        return "sample"
    out = []
    for c in label:
        out.append(
            c if ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "-_") else "_"
        )
    return "".join(out)[:40]

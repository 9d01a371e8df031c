"""Upload options shared by the Client (ei_http) and the Spool (ei_spool): the categories, the
rules for metadata, and file names made from labels.

A board that only collects into a spool checks its options here without loading any network
code. Memory: the module's code (about 1 KiB as .mpy); nothing per call beyond its result.
"""

import ei_encode

CATEGORIES = ("training", "testing", "anomaly", "validation", "split", "post-processing")
CONTENT_TYPES = {
    "cbor": "application/cbor",
    "json": "application/json",
    "binary": "application/octet-stream",
}
EXTENSIONS = {"cbor": ".cbor", "json": ".json", "binary": ".cbor"}


def check_category(category):
    if category not in CATEGORIES:
        raise ValueError("category must be one of %s, not %r" % (", ".join(CATEGORIES), category))


def check_metadata(metadata):
    """x-metadata is a JSON object of string to string."""
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be a dict of str to str, not %r" % (metadata,))
    for k in metadata:
        v = metadata[k]
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("metadata %r: keys and values must be strings" % (k,))
        ei_encode.check_text("metadata key", k)
        ei_encode.check_text("metadata[%r]" % k, v, empty_ok=True)


def metadata_json(metadata):
    """x-metadata as bytes: JSON, all ASCII (\\u escapes) so it is a valid header value."""
    check_metadata(metadata)
    import ei_json

    out = bytearray(b"{")
    for k in metadata:
        if len(out) > 1:
            out.append(0x2C)
        ei_json.text(out, k, True)
        out.append(0x3A)
        ei_json.text(out, metadata[k], True)
    out.append(0x7D)
    return bytes(out)


def file_stem(label):
    """A file name stem from a label: letters, digits, '-' and '_' only (others become '_')."""
    if not label:
        return "sample"
    out = []
    for c in label:
        out.append(
            c if ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "-_") else "_"
        )
    return "".join(out)[:40]

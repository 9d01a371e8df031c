"""A spool's rarely needed work, loaded only for it: failed/ by hand (Spool.failed, requeue,
discard) and metadata written by ei_ingest before 0.2.

Requeue renames the metadata back first (the move), then the data; discard deletes the metadata
first (the commit), then the data; the reason goes last. Spool's start-up scan finishes either
when cut short, so a kill at any step leaves the recording pending or failed, never both.
Memory: the module's code (~1 KiB as .mpy); a list of numbers per call.
"""

import os

import ei_options
from ei_spool import SpoolError, _remove, _why


def numbers(spool, seq=None):
    """The sequence numbers in failed/ (all, or just `seq`), oldest first."""
    found = spool._list(True)
    return sorted(s for s in found if found[s][0] and (seq is None or s == seq))


def reasons(spool):
    out = []
    for seq in numbers(spool):
        with open(spool._file(seq, ".why", True)) as f:
            out.append((seq, f.read()))
    return out


def move(spool, seq, back):
    """Requeue (back) or discard the failed recordings; return how many."""
    seqs = numbers(spool, seq)
    if seq is not None and not seqs:
        raise ValueError("no failed recording %r in %s/failed" % (seq, spool.path))
    try:
        for s in seqs:
            meta, data = spool._list(True)[s]
            size = spool._size(s, meta, True) + spool._size(s, data, True)
            if back:
                os.rename(spool._file(s, meta, True), spool._file(s, meta))  # the move
                if data is not None:
                    os.rename(spool._file(s, data, True), spool._file(s, data))
                spool._pending.append(s)
                spool._pending.sort()
                spool.used += size
            else:
                os.remove(spool._file(s, meta, True))  # the commit
                if data is not None:
                    _remove(spool._file(s, data, True))
            _remove(spool._file(s, ".why", True))
            spool.failed_bytes = max(0, spool.failed_bytes - size)
    except OSError as e:
        raise SpoolError("spool %s: %s in failed/" % (spool.path, _why(e)))
    return len(seqs)


def upgraded(old):
    """Metadata from before 0.2 (label, category, fmt, filename, metadata dict), as today's."""
    opts = ei_options.checked(old.get("label"), old.get("category"), old["fmt"], None, True,
                              False, old.get("metadata"))  # fmt: skip
    opts.update(size=old["size"], sha256=old["sha256"], name=old["filename"],
                no_label=old.get("label") is None)  # fmt: skip
    return opts

"""Store and forward: signed recordings wait on flash until the network can take them.

    spool = ei_spool.Spool("/spool", max_bytes=256 * 1024, hmac_key=KEY, device_type="ESP32")
    n = spool.put(rec, label="idle")      # signs and writes the file now; no network
    spool.flush(client)                   # later: uploads oldest first, deletes what arrived

Each recording becomes two files in the spool directory, named by a sequence number that only
grows (it is found again by scanning the directory at start, so the order survives reboots):
    00000042.cbor   the data acquisition file, signed, exactly the bytes that will be sent
    00000042.m      its upload metadata (JSON: label, category, fmt, filename, size, sha256, ...)
                    renamed to 00000042.s before the first upload attempt ("sent at least once")
Writing goes to *.tmp names first; the data file is renamed into place, then the metadata: that
second rename (atomic on LittleFS and POSIX) is the commit. At start, *.tmp files and data files
without metadata are crash leftovers of a put() that never returned: they are deleted, never
uploaded. A delivered file loses its metadata first, then its data.

Before an upload the file's size and SHA-256 are checked against its metadata; a file that fails
is moved to failed/ with the reason and never sent. A file the server refuses (400, 401, 421)
moves to failed/ with the server's text (a 401 also stops the flush: the key is wrong for every
file). A retryable failure stops the flush and leaves the file for next time. A DuplicateError
for a file that was sent before means an earlier attempt arrived: the file counts as delivered.

Memory: a Spool holds one 256-byte read buffer and a list of pending sequence numbers (one small
int per file); put() and flush() allocate a metadata dict and a few names per file, all garbage
once they return; nothing grows with the number of rows or of files. Measured peaks (bisected
`-X heapsize=<n>w` on the unix port, lib/ as .mpy, so 32-bit sizes): importing ei_spool ~14 KB
(ei_spool itself ~6 KB, the rest ei_encode, ei_errors, json, hashlib); a Spool and one put() of
a 20-row, 3-axis recording ~21.6 KB in all (the CBOR writer is imported on the first put). It
never imports ei_http: a board that only collects offline pays nothing for sockets. A flush
through ei_robust.Client brings the peak to ~35.7 KB. 1,000 put+flush cycles at 40wK leave the
free heap flat (tests/test_soak.py).
"""

import hashlib
import json
import os
from binascii import hexlify

import ei_encode
import ei_options
from ei_errors import DuplicateError, IngestionError, log

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc,no-redef]
        return x


_S_IFDIR = const(0x4000)
_ENOSPC = const(28)
_NAME = const(8)  # digits in a sequence number
_CHUNK = const(256)
_DEFAULT_MAX = const(262144)
_FAILED = "failed"
_FRESH = ".m"  # metadata of a file never sent
_TRIED = ".s"  # metadata of a file sent at least once
_TEMP = ".tmp"
_DATA_EXTS = (".cbor", ".json")


class SpoolFull(Exception):
    """put() found no room: max_bytes of pending files, or the flash itself, is full."""


def _is_dir(path):
    try:
        return os.stat(path)[0] & _S_IFDIR != 0
    except OSError:
        return None  # does not exist


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _size(path):
    return os.stat(path)[6]


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _makedirs(path):
    at = 0
    while True:
        at = path.find("/", at + 1)
        part = path if at < 0 else path[:at]
        kind = _is_dir(part)
        if kind is None:
            os.mkdir(part)
        elif not kind:
            raise ValueError("spool path %r: %r is a file, not a directory" % (path, part))
        if at < 0:
            return


def _seq_of(name):
    """The sequence number a spool file name starts with, or -1."""
    if len(name) <= _NAME or name[_NAME] != ".":
        return -1
    for c in name[:_NAME]:
        if not "0" <= c <= "9":
            return -1
    return int(name[:_NAME])


class Spool:
    """Recordings signed and kept on flash in order, until a flush delivers them.

    `hmac_key`, `device_type`, `device_name` sign and describe every file (as for a Client);
    pass `client=` to take them from a Client instead. `max_bytes` bounds the pending files.
    """

    def __init__(
        self,
        path,
        max_bytes=_DEFAULT_MAX,
        hmac_key=None,
        device_type=None,
        device_name=None,
        client=None,
    ):
        if not isinstance(path, str) or not path:
            raise ValueError("path must be a directory name, not %r" % (path,))
        ei_encode.check_text("path", path)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError("max_bytes must be an int > 0 (bytes), not %r" % (max_bytes,))
        if client is not None:
            hmac_key = client.hmac_key
            device_type = client.device_type
            device_name = client.device_name
        self._key = None if hmac_key is None else ei_encode.hmac_key_bytes(hmac_key)
        self.device_type = ei_encode.check_device_type(device_type)
        if device_name is not None:
            ei_encode.check_text("device_name", device_name)
        self.device_name = device_name
        self.max_bytes = max_bytes
        while len(path) > 1 and path[-1] == "/":
            path = path[:-1]
        _makedirs(path)
        _makedirs(path + "/" + _FAILED)
        self.path = path
        self._buf = bytearray(_CHUNK)
        self._view = memoryview(self._buf)
        self._pending = []
        self._used = 0
        self._next = 1
        self._scan()

    def __repr__(self):
        return "<Spool %s: %d pending, %d bytes>" % (self.path, len(self._pending), self._used)

    def __len__(self):
        return len(self._pending)

    @property
    def used(self):
        """Bytes of pending files (data and metadata)."""
        return self._used

    def _name(self, seq, ext=""):
        return "%s/%08d%s" % (self.path, seq, ext)

    def _failed_name(self, seq, ext=""):
        return "%s/%s/%08d%s" % (self.path, _FAILED, seq, ext)

    # --- start: find the pending files, clean what a crash left ------------------------------

    def _scan(self):
        top = 0
        for name in os.listdir(self.path + "/" + _FAILED):
            seq = _seq_of(name)
            if name.endswith(_TEMP):
                _remove(self.path + "/" + _FAILED + "/" + name)
            elif seq > top:
                top = seq
        metas = {}
        datas = {}
        for name in os.listdir(self.path):
            seq = _seq_of(name)
            if seq < 0:
                continue  # not ours (failed/ and anything the user put here)
            full = self.path + "/" + name
            if name.endswith(_TEMP):
                _remove(full)
                continue
            if seq > top:
                top = seq
            ext = name[_NAME:]
            if ext == _FRESH or ext == _TRIED:
                metas[seq] = full
            elif ext in _DATA_EXTS:
                datas[seq] = full
        for seq in datas:
            if seq not in metas:
                log("spool: removing %s, left by a put that never finished" % datas[seq])
                _remove(datas[seq])
        pending = []
        for seq in metas:
            if seq in datas:
                pending.append(seq)
                self._used += _size(metas[seq]) + _size(datas[seq])
                _remove(self._failed_name(seq, ".why"))  # a move to failed/ cut short at step 1
            elif _exists(self._failed_name(seq, ".why")):
                os.rename(metas[seq], self._failed_name(seq, _FRESH))  # finish a move
            else:
                self._write_reason(seq, "data file missing")
                os.rename(metas[seq], self._failed_name(seq, _FRESH))
        pending.sort()
        self._pending = pending
        self._next = top + 1

    # --- put ---------------------------------------------------------------------------------

    def put(
        self,
        rec,
        label=None,
        category="training",
        fmt="cbor",
        filename=None,
        metadata=None,
        iat=None,
    ):
        """Sign `rec` into a file on flash and queue it; return its sequence number.

        Bad input raises ValueError naming the field before anything is written. No room
        raises SpoolFull; nothing is ever dropped to make room.
        """
        if not hasattr(rec, "buffer") or not hasattr(rec, "sensors"):
            raise ValueError("rec must be an ei_ingest.Recording, not %r" % (rec,))
        if label is not None:
            ei_encode.check_text("label", label)
        ei_options.check_category(category)
        ei_encode.check_format(fmt)
        if filename is not None:
            ei_encode.check_text("filename", filename)
            if '"' in filename or "/" in filename or "\\" in filename:
                raise ValueError("filename must not contain quotes or slashes: %r" % filename)
        if metadata is not None:
            ei_options.check_metadata(metadata)
        ei_encode.check_iat(iat)
        if len(rec) == 0:
            raise ValueError("the recording is empty: nothing to send")
        if self._used >= self.max_bytes:
            raise SpoolFull(
                "spool %s is full: %d of %d bytes pending" % (self.path, self._used, self.max_bytes)
            )
        seq = self._next
        ext = ei_options.EXTENSIONS[fmt]
        data_tmp = self._name(seq, ".d" + _TEMP)
        meta_tmp = self._name(seq, ".m" + _TEMP)
        try:
            with open(data_tmp, "wb") as f:
                ei_encode.dump(rec, f, fmt, self._key, self.device_type, self.device_name, iat)
            size = _size(data_tmp)
            digest = self._sha256(data_tmp)
            meta = {
                "fmt": fmt,
                "label": label,
                "category": category,
                "filename": filename or ei_options.file_stem(label) + "." + digest[:12] + ext,
                "metadata": metadata,
                "size": size,
                "sha256": digest,
                "device_type": self.device_type,
                "device_name": self.device_name,
            }
            with open(meta_tmp, "w") as f:
                json.dump(meta, f)
            total = size + _size(meta_tmp)
            if self._used + total > self.max_bytes:
                raise SpoolFull(
                    "spool %s is full: %d + %d bytes > max_bytes %d"
                    % (self.path, self._used, total, self.max_bytes)
                )
            os.rename(data_tmp, self._name(seq, ext))
            os.rename(meta_tmp, self._name(seq, _FRESH))  # the commit
        except OSError as e:
            _remove(data_tmp)
            _remove(meta_tmp)
            _remove(self._name(seq, ext))
            if e.args and e.args[0] == _ENOSPC:
                raise SpoolFull("spool %s: the flash is full" % self.path)
            raise
        except BaseException:
            _remove(data_tmp)
            _remove(meta_tmp)
            raise
        self._next = seq + 1
        self._pending.append(seq)
        self._used += total
        return seq

    def _sha256(self, path):
        h = hashlib.sha256()
        view = self._view
        with open(path, "rb") as f:
            while True:
                n = f.readinto(self._buf)
                if not n:
                    break
                h.update(self._buf if n == _CHUNK else view[:n])
        return hexlify(h.digest()).decode()

    # --- flush -------------------------------------------------------------------------------

    def flush(self, client, limit=None):
        """Upload pending files oldest first through `client`; return how many were delivered.

        Stops at `limit` files. A retryable error (network down, 5xx) or a TLS error stops the
        flush, leaves the file pending and is raised; so is AuthError, after its file moved to
        failed/. Files the server refuses move to failed/ and the flush goes on.
        """
        if client is None or not hasattr(client, "upload_file"):
            raise ValueError("client must be an ei_ingest Client, not %r" % (client,))
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise ValueError("limit must be None or an int >= 0, not %r" % (limit,))
        if limit is not None and limit < 0:
            raise ValueError("limit must be None or an int >= 0, not %r" % (limit,))
        delivered = 0
        handled = 0
        while self._pending and (limit is None or handled < limit):
            handled += 1
            if self._send_one(client, self._pending[0]):
                delivered += 1
        return delivered

    def _send_one(self, client, seq):
        tried = True
        meta_path = self._name(seq, _TRIED)
        if not _exists(meta_path):
            tried = False
            meta_path = self._name(seq, _FRESH)
        try:
            with open(meta_path) as f:
                meta = json.load(f)
            fmt = meta["fmt"]
            data_path = self._name(seq, ei_options.EXTENSIONS[fmt])
        except (OSError, ValueError, KeyError, TypeError) as e:
            self._fail(seq, meta_path, None, "metadata unreadable: %r" % (e,))
            return False
        problem = self._verify(data_path, meta)
        if problem:
            self._fail(seq, meta_path, data_path, problem)
            return False
        if not tried:
            sent = self._name(seq, _TRIED)
            os.rename(meta_path, sent)  # before the request: a later duplicate means delivered
            meta_path = sent
        try:
            client.upload_file(
                data_path,
                fmt,
                label=meta.get("label"),
                category=meta.get("category", "training"),
                filename=meta.get("filename"),
                metadata=meta.get("metadata"),
            )
        except DuplicateError as e:
            if not tried:
                self._fail(seq, meta_path, data_path, "refused: %s" % e)
                return False
            # Sent before, and the server already has these exact bytes: that attempt arrived.
        except IngestionError as e:
            if e.retryable or not e.status:
                raise
            self._fail(seq, meta_path, data_path, "refused: %s" % e)
            if e.status == 401:
                raise
            return False
        except ValueError as e:
            self._fail(seq, meta_path, data_path, "not sendable: %s" % e)
            return False
        size = _size(meta_path) + meta["size"]
        os.remove(meta_path)  # delivered: from here on the data file is a leftover
        _remove(data_path)
        self._drop(seq, size)
        return True

    def _verify(self, data_path, meta):
        try:
            size = _size(data_path)
        except OSError:
            return "data file missing"
        if size != meta.get("size"):
            return "size %d, expected %r: the file changed on flash" % (size, meta.get("size"))
        digest = self._sha256(data_path)
        if digest != meta.get("sha256"):
            return "checksum mismatch: sha256 %s, expected %s" % (digest, meta.get("sha256"))
        return None

    def _write_reason(self, seq, reason):
        tmp = self._failed_name(seq, ".why" + _TEMP)
        with open(tmp, "w") as f:
            f.write(reason)
        os.rename(tmp, self._failed_name(seq, ".why"))

    def _fail(self, seq, meta_path, data_path, reason):
        """Move a file and its metadata to failed/ with the reason; it is never sent again."""
        log("spool: %08d moved to failed/: %s" % (seq, reason))
        size = 0
        self._write_reason(seq, reason)
        if data_path is None:  # metadata unreadable: whichever data file this number has
            for ext in _DATA_EXTS:
                if _exists(self._name(seq, ext)):
                    data_path = self._name(seq, ext)
        if data_path is not None and _exists(data_path):
            size += _size(data_path)
            os.rename(data_path, self._failed_name(seq, data_path[data_path.rfind(".") :]))
        if _exists(meta_path):
            size += _size(meta_path)
            os.rename(meta_path, self._failed_name(seq, _FRESH))
        self._drop(seq, size)

    def _drop(self, seq, size):
        self._pending.remove(seq)
        self._used = max(0, self._used - size) if self._pending else 0

    def failed(self):
        """[(sequence number, reason)] of the files in failed/, oldest first."""
        out = []
        for name in os.listdir(self.path + "/" + _FAILED):
            if name.endswith(".why"):
                with open(self.path + "/" + _FAILED + "/" + name) as f:
                    out.append((_seq_of(name), f.read()))
        out.sort()
        return out

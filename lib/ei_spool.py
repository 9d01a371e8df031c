"""Store and forward: signed recordings wait on flash until the ingestion API says it has them.

    spool = ei_spool.Spool("/spool", max_bytes=256 * 1024, hmac_key=KEY, device_type="ESP32")
    n = spool.put(rec, label="idle")      # signs and writes the file now; no network
    spool.flush(client, budget_ms=20000)  # later: uploads oldest first, deletes what arrived
    spool.failed(); spool.requeue()       # what the API refused, with its words; send it again

A recording is two files named by a sequence number that only grows: the signed file
(`00000042.cbor`) and its metadata (`00000042.m`: put()'s options, size, sha256), renamed to
`.s` before the first attempt. Where the metadata is, the recording is: here it is pending, in
failed/ it failed (a `.why` file says why). A move renames the metadata first, then the data;
put() renames the data, then the metadata (the commit); a delivery deletes the metadata first.
The scan at start finishes any move cut short and deletes data without metadata (a put that
never returned), so a kill at any step leaves each recording pending or failed, never gone.

A recording leaves only when the API confirms it (stored; or a duplicate of a file sent before,
whose answer was lost), and moves to failed/ only when the API refuses its content
(error.refuses_file) or it is damaged on flash. Anything else (a wrong key, a redirect, a captive
portal, the network) stops the flush, keeps the file and is raised. Pending and failed files
share `max_bytes`. Flash errors are SpoolError (SpoolFull: no room), never a raw OSError.

Memory: a 256-byte read buffer and a list of pending numbers (a small int per file); put() and
flush() allocate a metadata dict and a few names per file. No network code is ever imported.
"""

import hashlib
import json
import os
from binascii import hexlify

import ei_ingest
import ei_options
from ei_log import log
from ei_time import ticks_diff, ticks_ms
from micropython import const

_S_IFDIR = const(0x4000)
_ENOSPC = const(28)
_NAME = const(8)  # digits in a sequence number
_CHUNK = const(256)
_DEFAULT_MAX = const(262144)
_FAILED = "/failed"
_METAS = (".m", ".s")  # never sent, sent at least once
_DATAS = (".cbor", ".json")


class SpoolError(Exception):
    """The flash failed the spool (full, or an I/O error); the text says which file and what.
    Every recording is still pending or failed, as before the call."""


class SpoolFull(SpoolError):
    """put() found no room: max_bytes of pending and failed files, or the flash itself, is full."""


def _stat(path):
    try:
        return os.stat(path)
    except OSError:
        return None


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _makedirs(path):
    at = 0
    while at >= 0:
        at = path.find("/", at + 1)
        part = path if at < 0 else path[:at]
        st = _stat(part)
        if st is None:
            os.mkdir(part)
        elif not st[0] & _S_IFDIR:
            raise ValueError("spool path %r: %r is a file, not a directory" % (path, part))


def _why(e):
    return "the flash is full" if e.args and e.args[0] == _ENOSPC else "flash error %r" % (e,)


def _parse(name):
    """(sequence number, extension) of a spool file name, or (-1, None)."""
    if len(name) <= _NAME or name[_NAME] != "." or not name[:_NAME].isdigit():
        return -1, None
    return int(name[:_NAME]), name[_NAME:]


class Spool:
    """Recordings signed and kept on flash in order, until a flush delivers them. `hmac_key`,
    `device_type`, `device_name` sign and describe every file (or `client=`: a Client's);
    `max_bytes` bounds pending + failed files."""

    def __init__(
        self, path, max_bytes=_DEFAULT_MAX, hmac_key=None, device_type=None, device_name=None,
        client=None,
    ):  # fmt: skip
        if not isinstance(path, str) or not path:
            raise ValueError("path must be a directory name, not %r" % (path,))
        ei_ingest.check_text("path", path)
        if type(max_bytes) is not int or max_bytes <= 0:
            raise ValueError("max_bytes must be an int > 0 (bytes), not %r" % (max_bytes,))
        if client is not None:
            hmac_key, device_type, device_name = (
                client.hmac_key, client.device_type, client.device_name,
            )  # fmt: skip
        self._key, self.device_type, self.device_name = ei_ingest.signer(
            hmac_key, device_type, device_name
        )
        self.max_bytes = max_bytes
        self.path = path.rstrip("/") or "/"
        self._enc = ei_ingest.Encoder(_CHUNK)  # writes every put; its stage reads files back
        try:
            _makedirs(self.path + _FAILED)
            self._scan()
        except OSError as e:
            raise SpoolError("spool %s: %s" % (self.path, e))

    def __repr__(self):
        return "<Spool %s: %d pending, %d bytes, %d failed bytes>" % (
            self.path, len(self._pending), self.used, self.failed_bytes,
        )  # fmt: skip

    def __len__(self):
        return len(self._pending)

    def _file(self, seq, ext, failed=False):
        return "%s%s/%08d%s" % (self.path, _FAILED if failed else "", seq, ext)

    def _scan(self):
        here = self._list(False)
        there = self._list(True)
        self._pending = []
        self.used = self.failed_bytes = 0
        top = 0
        for seq in here:
            top = max(top, seq)
            meta, data = here[seq]
            fmeta, fdata = there.pop(seq, (None, None))
            if meta is None:
                if fmeta is None:  # a put() that never returned, or a delivery cut short
                    log("spool: removing %08d%s, left by a put that never finished" % (seq, data))
                    _remove(self._file(seq, data))
                    _remove(self._file(seq, ".why", True))
                    continue
                os.rename(self._file(seq, data), self._file(seq, data, True))  # finish _fail
                there[seq] = (fmeta, data)
                continue
            if data is None and fdata is not None:  # finish a requeue
                os.rename(self._file(seq, fdata, True), self._file(seq, fdata))
                data = fdata
            _remove(self._file(seq, ".why", True))
            if data is None:
                self._write_reason(seq, "data file missing")
                os.rename(self._file(seq, meta), self._file(seq, meta, True))
                there[seq] = (meta, None)
                continue
            self._pending.append(seq)
            self.used += self._size(seq, meta) + self._size(seq, data)
        for seq in there:
            top = max(top, seq)
            meta, data = there[seq]
            if meta is None:  # a discard cut short
                _remove(self._file(seq, data or ".why", True))
                _remove(self._file(seq, ".why", True))
                continue
            if _stat(self._file(seq, ".why", True)) is None:
                self._write_reason(seq, "reason lost in a crash")
            self.failed_bytes += self._size(seq, meta, True) + self._size(seq, data, True)
        self._pending.sort()
        self._next = top + 1

    def _list(self, failed):
        """{seq: [metadata ext, data ext]} of one directory; *.tmp files are deleted."""
        found = {}  # type: dict
        where = self.path + (_FAILED if failed else "")
        for name in os.listdir(where):
            seq, ext = _parse(name)
            if seq < 0:
                continue  # not ours (failed/, anything the user put here)
            if ext.endswith(".tmp"):
                _remove(where + "/" + name)
                continue
            slot = found.setdefault(seq, [None, None])
            if ext in _METAS:
                slot[0] = ext
            elif ext in _DATAS:
                slot[1] = ext
        return found

    def _size(self, seq, ext, failed=False):
        st = None if ext is None else _stat(self._file(seq, ext, failed))
        return 0 if st is None else st[6]

    def put(self, rec, iat=None, hmac_key=None, **options):
        """Sign `rec` into a file on flash and queue it; return its sequence number. The options
        are Client.upload()'s (ei_options.checked). Bad input raises ValueError naming the field
        before anything is written; no room raises SpoolFull; nothing is dropped to make room."""
        if not hasattr(rec, "buffer") or not hasattr(rec, "sensors"):
            raise ValueError("rec must be an ei_ingest.Recording, not %r" % (rec,))
        opts = ei_options.checked(**options)
        key = self._key if hmac_key is None else ei_ingest.key_bytes(hmac_key)
        ei_ingest.check_iat(iat)
        if len(rec) == 0:
            raise ValueError("the recording is empty: nothing to send")
        self._room(0)
        seq = self._next
        ext = ei_options.extension(opts["fmt"])
        data_tmp = self._file(seq, ".d.tmp")
        meta_tmp = self._file(seq, ".m.tmp")
        try:
            ei_ingest.dump(
                rec, data_tmp, opts["fmt"], key, self.device_type, self.device_name, iat,
                encoder=self._enc,
            )  # fmt: skip
            opts["size"] = os.stat(data_tmp)[6]
            opts["sha256"] = self._sha256(data_tmp)
            ei_options.name(opts, opts["sha256"][:12])
            with open(meta_tmp, "w") as f:
                json.dump(opts, f)
            total = opts["size"] + os.stat(meta_tmp)[6]
            self._room(total)
            os.rename(data_tmp, self._file(seq, ext))
            os.rename(meta_tmp, self._file(seq, ".m"))  # the commit
        except BaseException as e:
            for name in (data_tmp, meta_tmp, self._file(seq, ext)):
                _remove(name)
            if not isinstance(e, OSError):
                raise
            if e.args and e.args[0] == _ENOSPC:
                raise SpoolFull("spool %s: the flash is full" % self.path)
            raise SpoolError(
                "spool %s: cannot write recording %08d: %s" % (self.path, seq, _why(e))
            )
        self._next = seq + 1
        self._pending.append(seq)
        self.used += total
        return seq

    def _room(self, size):
        if self.used + self.failed_bytes + size <= self.max_bytes and self.used < self.max_bytes:
            return
        hint = (
            " (Spool.failed() lists them; requeue() or discard() them)" if self.failed_bytes else ""
        )
        raise SpoolFull(
            "spool %s is full: %d bytes pending + %d failed + %d new > max_bytes %d%s"
            % (self.path, self.used, self.failed_bytes, size, self.max_bytes, hint)
        )

    def _sha256(self, path):
        h = hashlib.sha256()
        stage = self._enc.full
        with open(path, "rb") as f:
            n = f.readinto(stage)
            while n:
                h.update(stage if n == _CHUNK else stage[:n])
                n = f.readinto(stage)
        return hexlify(h.digest()).decode()

    def flush(self, client, limit=None, budget_ms=None):
        """Upload pending files oldest first through `client`; return how many were delivered.
        Stops after `limit` files, or once `budget_ms` have passed (an ei_robust client's
        retries are cut to what is left), so that sampling goes on. An error that says nothing
        about the file stops the flush, keeps the file and is raised; a file whose content the
        API refuses moves to failed/ and the flush goes on."""
        if client is None or not hasattr(client, "send_file"):
            raise ValueError("client must be an ei_ingest Client, not %r" % (client,))
        for name, value in (("limit", limit), ("budget_ms", budget_ms)):
            if value is not None and (type(value) is not int or value < 0):
                raise ValueError("%s must be None or an int >= 0, not %r" % (name, value))
        start = ticks_ms()
        total_ms = getattr(client, "total_ms", None)
        delivered = handled = 0
        try:
            while self._pending and (limit is None or handled < limit):
                if budget_ms is not None:
                    left = budget_ms - ticks_diff(ticks_ms(), start)
                    if left <= 0:
                        break
                    if total_ms is not None:
                        client.total_ms = min(total_ms, left)
                handled += 1
                delivered += self._send_one(client, self._pending[0])
        except OSError as e:
            raise SpoolError("spool %s: %s during flush: every file stays" % (self.path, _why(e)))
        finally:
            if total_ms is not None:
                client.total_ms = total_ms
            if hasattr(client, "close"):
                client.close()  # the connection kept for this flush (a TLS session, on rp2 heap)
        return delivered

    def _send_one(self, client, seq):
        tried = _stat(self._file(seq, ".s")) is not None
        meta = ".s" if tried else ".m"
        try:
            with open(self._file(seq, meta)) as f:
                opts = json.load(f)
            if "name" not in opts:  # written before 0.2
                opts = __import__("ei_spool_failed").upgraded(opts)
            data = ei_options.extension(opts["fmt"])
            size = opts["size"] + os.stat(self._file(seq, meta))[6]
        except (ValueError, KeyError, TypeError) as e:
            return self._fail(seq, meta, None, "metadata unreadable: %r" % (e,))
        problem = self._verify(seq, data, opts)
        if problem:
            return self._fail(seq, meta, data, problem)
        if not tried:
            os.rename(self._file(seq, ".m"), self._file(seq, ".s"))  # a later duplicate: arrived
            meta = ".s"
        try:
            client.send_file(self._file(seq, data), opts)
        except ValueError as e:
            return self._fail(seq, meta, data, "not sendable: %s" % e)
        except Exception as e:  # an IngestionError has these (ei_errors loads only then)
            if not (tried and getattr(e, "duplicate", False)):
                if not getattr(e, "refuses_file", False):
                    raise
                return self._fail(seq, meta, data, "refused: %s" % e)
            # Sent before, and the server already has these exact bytes: that attempt arrived.
        os.remove(self._file(seq, meta))  # delivered: from here on the data file is a leftover
        _remove(self._file(seq, data))
        self._drop(seq, size)
        return 1

    def _drop(self, seq, size):
        self._pending.remove(seq)
        self.used = max(0, self.used - size) if self._pending else 0

    def _verify(self, seq, data, opts):
        st = _stat(self._file(seq, data))
        if st is None:
            return "data file missing"
        if st[6] != opts.get("size"):
            return "size %d, expected %r: the file changed on flash" % (st[6], opts.get("size"))
        digest = self._sha256(self._file(seq, data))
        if digest != opts.get("sha256"):
            return "checksum mismatch: sha256 %s, expected %s" % (digest, opts.get("sha256"))

    def _write_reason(self, seq, reason):
        tmp = self._file(seq, ".why.tmp", True)
        try:
            with open(tmp, "w") as f:
                f.write(reason)
            os.rename(tmp, self._file(seq, ".why", True))
        except OSError:
            _remove(tmp)
            raise

    def _fail(self, seq, meta, data, reason):
        """Move a recording to failed/ with the reason; it is not sent again unless requeued."""
        if data is None:  # metadata unreadable: whichever data file this number has
            data = ([d for d in _DATAS if _stat(self._file(seq, d))] + [None])[0]
        size = self._size(seq, meta) + self._size(seq, data)
        try:
            self._write_reason(seq, reason)
            os.rename(self._file(seq, meta), self._file(seq, meta, True))
        except OSError as e:
            _remove(self._file(seq, ".why", True))
            raise SpoolError(
                "spool %s: %08d cannot be moved to failed/ (%s): it stays pending; it was %s"
                % (self.path, seq, _why(e), reason)
            )
        log("spool: %08d moved to failed/: %s" % (seq, reason))
        self._drop(seq, size)
        self.failed_bytes += size
        if data is not None:  # if this fails, the next start moves it (the metadata is there)
            try:
                os.rename(self._file(seq, data), self._file(seq, data, True))
            except OSError:  # gone from under us: the flush goes on, failed/ has the reason
                pass
        return 0

    # failed/ by hand: list, requeue, discard (ei_spool_failed, loaded only for them)

    def failed(self):
        """[(sequence number, reason)] of the recordings in failed/, oldest first."""
        return __import__("ei_spool_failed").reasons(self)

    def requeue(self, seq=None):
        """Move failed recordings (all, or number `seq`) back to pending, in their old place in
        the order; return how many. For after the cause is fixed (a new HMAC key, a server)."""
        return __import__("ei_spool_failed").move(self, seq, True)

    def discard(self, seq=None):
        """Delete failed recordings (all, or number `seq`) for good; return how many."""
        return __import__("ei_spool_failed").move(self, seq, False)

"""Exceptions a user of ei_ingest can act on.

Bad input is always a plain ValueError naming the field (raised before anything is written or
sent). These classes cover what happens after: a full recording or a refused or failed upload,
and for_answer() says which one an answer means. The library loads this module only when
something goes wrong. Memory: about 3 KiB of classes and code; nothing per instance beyond the
message.
"""


class RecordingFull(Exception):
    """A row was added to a Recording that already holds `capacity` rows."""


class IngestionError(Exception):
    """The ingestion service refused an upload or could not be reached.

    `status` is the HTTP status (0 when no answer came), `text` the server's words (at most a few
    hundred characters), `retryable` says whether sending the same file again may succeed, and
    `refuses_file` whether the ingestion API refused this file's content (a 400 in the API's own
    form, 413): only then is the file itself at fault; anything else (a wrong key, a redirect, an
    answer that is not the API's) says nothing about the file.
    """

    retryable = False
    refuses_file = False
    duplicate = False

    def __init__(self, status, text):
        super().__init__("HTTP %d: %s" % (status, text) if status else text)
        self.status = status
        self.text = text


class AuthError(IngestionError):
    """401 or 403: the API key is missing, wrong, or has no access to this project."""


class InvalidError(IngestionError):
    """400 (or 413: too large): the API refused the file or a header (the text says which)."""

    refuses_file = True


class MissingHeaderError(IngestionError):
    """421: a required header is missing (the text says which)."""


class UnexpectedAnswer(IngestionError):
    """An answer that is not the ingestion API's: a redirect, a captive portal's or a proxy's
    page, a 200 that does not list the file. Nothing says the file arrived: send it again later
    (the text holds the answer's first bytes)."""

    retryable = True


class ServerError(IngestionError):
    """5xx: the service failed; the same upload may succeed later."""

    retryable = True


class ConnectionFailed(IngestionError):
    """No complete answer: refused, reset, closed early or timed out. Safe to retry."""

    retryable = True

    def __init__(self, text):
        super().__init__(0, text)


class TLSError(IngestionError):
    """The server's certificate did not check out (wrong CA, wrong host name, or a clock that
    was never set). Sending again will not help until the cause is fixed."""

    def __init__(self, text):
        super().__init__(0, text)


class DuplicateError(InvalidError):
    """A file whose hash is already in the dataset (x-disallow-duplicates), as a 400 or as a 200
    with success false. After a retry this means the first attempt arrived: the file is
    delivered.
    """

    duplicate = True


def for_answer(status, text, ctype, location, endpoint, filename):
    """The error for an answer that is not the ingestion API's word that it stored the file
    (ei_http.outcome() asks only then, so a board loads this only when something goes wrong)."""
    obj = None
    if text[:1] == "{":
        import json

        try:
            obj = json.loads(text)
        except ValueError:
            pass
        if not isinstance(obj, dict):
            obj = None
    html = b"html" in ctype.lower() or text[:1] == "<"
    why = None
    if obj is not None:
        why = obj.get("error")
        if status == 200 and obj.get("success") is True:  # stored, but not this file?
            why = None
            for f in obj.get("files") or ():
                if isinstance(f, dict) and f.get("success") is False:
                    if len(obj["files"]) == 1 or f.get("fileName") == filename:
                        return _refusal(400, str(f.get("error") or text))
        elif not isinstance(why, str) or not why:
            why = None
    if 300 <= status < 400:
        where = location.decode() if location else "nowhere"
        return UnexpectedAnswer(status, "redirected to %s (a captive portal or proxy?): %r"
                                % (where, text[:80]))  # fmt: skip
    if why is None:
        if status == 200 or html or 200 < status < 300:
            if status == 200 and obj is not None:
                what = "this file is not listed in the answer"
            elif status == 200:
                what = "the answer does not name the stored file"
            else:
                what = "not an ingestion API answer"
            return UnexpectedAnswer(status, "%s: %r" % (what, text[:80]))
        why = text
    if status == 200 or status == 400 or status == 413:
        return _refusal(status, why)
    if status == 401 or status == 403:
        return AuthError(status, why)
    if status == 421:
        return MissingHeaderError(status, why)
    if status >= 500:
        return ServerError(status, why)
    err = IngestionError(status, why)
    err.retryable = status == 408 or status == 429
    return err


def _refusal(status, text):
    low = text.lower()
    if "duplicate" in low or "already exist" in low:
        return DuplicateError(status, text)
    return InvalidError(status, text)


from ei_log import _print_log, log, set_log  # noqa: E402,F401 (the hook's old home)

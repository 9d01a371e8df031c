"""Exceptions a user of ei_ingest can act on.

Bad input is always a plain ValueError naming the field (raised before anything is written or
sent). These classes cover what happens after: a full recording or a refused or failed upload.
Memory: a few class objects, nothing per instance beyond the message.
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


def _print_log(message):
    print("ei_ingest:", message)


_log = [_print_log]


def set_log(fn):
    """Route the library's few diagnostics to `fn(message)`; None silences them."""
    _log[0] = fn


def log(message):
    fn = _log[0]
    if fn is not None:
        fn(message)

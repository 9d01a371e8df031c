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
    hundred characters), `retryable` says whether sending the same file again may succeed.
    """

    retryable = False

    def __init__(self, status, text):
        super().__init__("HTTP %d: %s" % (status, text) if status else text)
        self.status = status
        self.text = text


class AuthError(IngestionError):
    """401: the API key is missing or wrong."""


class InvalidError(IngestionError):
    """400: the file or a header is invalid (the text says which)."""


class MissingHeaderError(IngestionError):
    """421: a required header is missing (the text says which)."""


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
    """400 for a file whose hash is already in the dataset (x-disallow-duplicates).

    After a retry this means the first attempt arrived: the file is delivered.
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

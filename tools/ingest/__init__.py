"""The local Edge Impulse ingestion server's building blocks (used by tools/ingest_server.py).

Independent of lib/: this package is the oracle that the device library's uploads are checked
against, so it shares no code with it.
"""

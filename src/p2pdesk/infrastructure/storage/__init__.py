"""File storage adapters (driven): where attachments and raw messages are kept."""

from p2pdesk.infrastructure.storage.local import LocalFileStore

__all__ = ["LocalFileStore"]

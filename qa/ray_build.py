"""Building on Ray (``qa build --ray [ADDRESS]``, ``QA_RAY_ADDRESS``): reading and chunking,
then embedding and keyword counting, as Ray Data stages; this process (the driver) assembles
the same index folder as a local build (:func:`qa.indexer.write_index`).

- **read** (:func:`ray_parse`): the files that changed since the live version are read and
  cut into passages by Ray tasks; the driver then takes them in name order as files read
  elsewhere (:class:`qa.sources.FileSource`'s ``parsed``), so skipped files, copies and
  unchanged files are handled exactly as in a local build.
- **embed** (:func:`ray_chunks`): the passages go to Ray in the local build's chunks
  (:data:`qa.build_vectors.CHUNK`); actors that each load the passage encoder once embed a
  chunk's texts in one call and count its keyword tokens (:func:`qa.build_vectors.embed_chunk`,
  ``chunk_tokens``), so every vector is the one a local build makes. Texts whose vectors the
  live version has, or that an earlier chunk holds, are not embedded again: the actors are
  told which and return only the others; the driver fills the rest in. Chunks come back in
  order.

Workers must run the same versions of this package and its model as the driver: each task
and actor reports its reader version, keyword tokenizer version and model identity, and a
mismatch stops the build. Ray is an optional extra (``pip install 'qa-chat[ray]'``).
``ADDRESS``: ``local`` starts a runtime on this machine; ``auto`` or ``HOST:PORT`` join a
running cluster (see ``docs/scale.md``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import build_vectors
from .build_vectors import chunk_texts, chunk_tokens, embed_chunk
from .errors import MissingDependencyError, QAError
from .passage import Record, content_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RayCluster:
    """Where a build runs: ``address`` (see the module docstring), how many embedding actors
    (``workers``; default: one per CPU of the cluster) and, for ``local``, how many CPUs the
    runtime may use (``cpus``; default: Ray's own count, container limits included)."""

    address: str = "local"
    workers: int | None = None
    cpus: int | None = None

    def connect(self):
        """The ``ray`` module, connected (a runtime is started or joined once per process).

        Raises:
            MissingDependencyError: Ray is not installed.
            QAError: the cluster cannot be reached.
        """
        try:
            import ray
            from ray.data import DataContext
        except ImportError as exc:
            raise MissingDependencyError(
                "Ray is not installed: pip install 'qa-chat[ray]' (make setup installs it)") from exc
        if not ray.is_initialized():
            options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            try:
                if self.address == "local":
                    ray.init(address="local", num_cpus=self.cpus, object_store_memory=512 << 20,
                             **options)
                else:
                    ray.init(address=self.address, **options)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise QAError(f"cannot start or join Ray at {self.address!r}: {exc}") from exc
        context = DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        return ray

    def actors(self, ray) -> int:
        return self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


def _ray_failure(exc: Exception) -> QAError:
    """A failure inside Ray as this package's error, naming the task's own error: the last
    ``SomeError: ...`` line, not Ray's, of the traceback Ray puts in its message."""
    lines = [line.strip() for line in str(exc).splitlines()
             if re.match(r"\s*[\w.]*(Error|Exception)\b[^:]*: ", line)
             and not line.strip().startswith("ray.")]
    return QAError(f"the build on Ray failed: {lines[-1] if lines else exc!r}"[:2000])


def ray_parse(cluster: RayCluster, files: list[tuple[Path, str]], config) -> dict:
    """``{name: Parsed}`` of ``files`` (path, name in results) read on Ray; files that
    cannot be read are left out (the local build then skips them with its own message)."""
    from .documents import READER_VERSION
    from .parse_worker import Parsed

    if not files:
        return {}
    ray = cluster.connect()
    items = [{"path": str(path.resolve()), "name": name} for path, name in files]
    rows = ray.data.from_items(items).map_batches(
        _parse_files, batch_size=1, fn_kwargs={"config": config.to_json()}, num_cpus=1)
    parsed, errors = {}, {}
    try:
        for row in rows.iter_rows():
            if row["reader"] != READER_VERSION:
                raise QAError(f"a Ray worker reads documents with reader version {row['reader']}"
                              f", this machine with {READER_VERSION}: install the same qa-chat")
            if row["error"]:
                errors[row["name"]] = row["error"]
                continue
            records = tuple(Record(**r) for r in json.loads(row["records"]))
            parsed[row["name"]] = Parsed(row["sha256"], row["encoding"], records,
                                         json.loads(row["notes"]))
    except QAError:
        raise
    except Exception as exc:  # Ray wraps a task's error in its own types
        raise _ray_failure(exc) from exc
    if errors:
        name, reason = next(iter(errors.items()))
        log.warning("%d of %d files could not be read on Ray (%s: %s); they are read here",
                    len(errors), len(files), name, reason)
    log.info("read %d of %d files on Ray", len(parsed), len(files))
    return parsed


def _parse_files(batch: dict, config: dict) -> dict:
    """Ray task: read and chunk the files of ``batch``; errors are returned, not raised."""
    import hashlib

    from .documents import READER_VERSION, parse_bytes
    from .errors import DocumentError
    from .indexer import config_from_json, document_records
    from .sources import read_file

    index_config = config_from_json(config)
    out = {key: [] for key in ("name", "sha256", "encoding", "records", "notes", "error",
                               "reader")}
    for path, name in zip(batch["path"], batch["name"]):
        row = {"name": name, "sha256": "", "encoding": "", "records": "[]", "notes": "{}",
               "error": "", "reader": READER_VERSION}
        try:
            data = read_file(Path(path))
            document = parse_bytes(data, name, ocr=index_config.ocr)
            records = document_records(document, name, index_config)
            row.update(sha256=hashlib.sha256(data).hexdigest(), encoding=document.encoding,
                       records=json.dumps([r.to_json() for r in records], ensure_ascii=False),
                       notes=json.dumps(document.notes, ensure_ascii=False))
        except DocumentError as exc:
            row["error"] = str(exc)
        for key, value in row.items():
            out[key].append(value)
    return {key: np.array(values, dtype=object) for key, values in out.items()}


def worker_identity(settings) -> str:
    """What must be equal on the driver and every actor: the model's identity (its export
    included) and the keyword tokenizer's version."""
    from .encoder import model_info
    from .lexical import TOKENIZER_VERSION

    return json.dumps({"model": model_info(settings)["identity"],
                       "tokenizer": TOKENIZER_VERSION}, sort_keys=True)


class _ChunkEmbedder:
    """Ray actor: loads the passage encoder once (on the CPUs Ray gave it), then embeds
    chunks and counts their keyword tokens."""

    def __init__(self, settings, config: dict):
        import ray

        from .encoder import Int8Encoder, get_encoder
        from .indexer import config_from_json

        threads = max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)))
        if settings.int8_passages:
            self.encoder = Int8Encoder(settings, threads)
        else:
            import torch

            torch.set_num_threads(threads)
            self.encoder = get_encoder(settings)
        self.config = config_from_json(config)
        self.identity = worker_identity(settings)
        self.zero = np.zeros(self.encoder.dimension, dtype=np.float32)

    def __call__(self, batch: dict) -> dict:
        out = {key: [] for key in ("step", "rows", "vectors", "tokens", "embedded", "identity")}
        for step, chunk, known in zip(batch["step"], batch["records"], batch["known"]):
            records = [Record(**r) for r in json.loads(chunk)]
            texts = chunk_texts(records, self.config)
            hashes = [content_hash(t) for t in texts]
            placeholders = dict.fromkeys(json.loads(known), self.zero)  # the driver has them
            vectors, embedded = embed_chunk(self.encoder, texts, placeholders, hashes=hashes)
            rows = [i for i, digest in enumerate(hashes) if digest not in placeholders]
            out["step"].append(int(step))
            out["rows"].append(json.dumps(rows))
            out["vectors"].append(vectors[rows].astype(np.float32).tobytes())
            out["tokens"].append(json.dumps(chunk_tokens(records, self.config),
                                            ensure_ascii=False))
            out["embedded"].append(embedded)
            out["identity"].append(self.identity)
        return {key: np.array(values, dtype=object if key in ("rows", "vectors", "tokens",
                                                                "identity") else None)
                for key, values in out.items()}


def ray_chunks(cluster: RayCluster, records: list[Record], config, settings, dimension: int,
               known):
    """Per chunk of ``records``, in order: its vectors, their hashes, keyword tokens and how
    many texts were embedded, made by Ray actors (see :func:`qa.build_vectors.local_chunks`);
    texts ``known`` (:class:`qa.build_vectors.KnownVectors`) or in an earlier chunk are not
    embedded again, as locally.

    Raises:
        QAError: Ray failed, or a worker runs another model or tokenizer version.
    """
    size = build_vectors.CHUNK
    steps = (len(records) + size - 1) // size
    if not steps:
        return
    ray = cluster.connect()
    from ray.data import ActorPoolStrategy

    chunks = [records[step * size:(step + 1) * size] for step in range(steps)]
    hashes = [[content_hash(t) for t in chunk_texts(chunk, config)] for chunk in chunks]
    items, seen = [], set()  # texts of earlier chunks: placed in ``known`` before this one
    for step, (chunk, digests) in enumerate(zip(chunks, hashes)):
        copied = sorted({h for h in digests if h in known or h in seen})
        items.append({"step": step, "known": json.dumps(copied),
                      "records": json.dumps([r.to_json() for r in chunk], ensure_ascii=False)})
        seen.update(digests)
    actors = min(cluster.actors(ray), steps)
    shipped = replace(settings, auth=None)  # what the actors need, never a password
    results = ray.data.from_items(items).map_batches(
        _ChunkEmbedder, batch_size=1, num_cpus=1, compute=ActorPoolStrategy(size=actors),
        fn_constructor_kwargs={"settings": shipped, "config": config.to_json()})
    log.info("embedding %d chunks of passages on Ray with %d actors", steps, actors)
    expected, identity = 0, worker_identity(settings)
    try:
        for row in results.iter_rows():
            if row["identity"] != identity:
                raise QAError(f"a Ray worker embeds with {row['identity']}, this machine with "
                              f"{identity}: install the same qa-chat and model on the workers")
            if int(row["step"]) != expected:
                raise QAError(f"Ray returned chunk {row['step']} where {expected} was expected")
            digests, tokens = hashes[expected], json.loads(row["tokens"])
            rows = json.loads(row["rows"])
            fresh = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, dimension)
            if len(tokens) != len(chunks[expected]) or len(fresh) != len(rows):
                raise QAError(f"Ray returned chunk {expected} incomplete")
            vectors = np.zeros((len(digests), dimension), dtype=np.float32)
            vectors[rows] = fresh
            for i in sorted(set(range(len(digests))) - set(rows)):
                vectors[i] = known[digests[i]]
            expected += 1
            yield vectors, digests, tokens, int(row["embedded"])
    except QAError:
        raise
    except Exception as exc:  # Ray wraps an actor's error in its own types
        raise _ray_failure(exc) from exc

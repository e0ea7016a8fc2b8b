"""Building on Ray (``qa build --ray [ADDRESS]``, ``QA_RAY_ADDRESS``): reading and chunking,
then embedding and keyword counting, as Ray Data stages; this process (the driver) assembles
the same index folder as a local build (:func:`qa.indexer.write_index`).

- **read** (:func:`ray_parse`): the files that changed since the live version are read and
  cut into passages by Ray tasks, one file each; the driver then takes them in name order as
  files read elsewhere (:class:`qa.sources.FileSource`'s ``parsed``), so skipped files,
  copies and unchanged files are handled exactly as in a local build.
- **embed** (:func:`ray_chunks`): the passages go to Ray in the local build's chunks
  (:data:`qa.build_vectors.CHUNK`); actors that each load the passage encoder once embed a
  chunk's texts in one call and count its keyword tokens (:func:`qa.build_vectors.embed_chunk`,
  ``chunk_tokens``), so every vector is the one a local build from scratch makes. Chunks come
  back in order; texts whose vectors the live version has are not embedded again (the
  driver fills them in), as locally.

Ray is an optional extra (``pip install 'qa-chat[ray]'``). ``ADDRESS``: ``local`` starts a
runtime on this machine (all its cores); ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` join a
running cluster, whose workers need this package installed and the documents' paths readable.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import build_vectors
from .build_vectors import BuildProgress, chunk_texts, chunk_tokens, embed_chunk
from .errors import MissingDependencyError, QAError
from .passage import Record, content_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RayCluster:
    """Where a build runs: ``address`` (see the module docstring) and how many embedding
    actors (``workers``; default: one per CPU the cluster has)."""

    address: str = "local"
    workers: int | None = None

    def connect(self):
        """The ``ray`` module, connected (a local runtime is started once per process)."""
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError(
                "Ray is not installed: pip install 'qa-chat[ray]' (make setup installs it)") from exc
        if not ray.is_initialized():
            options = dict(include_dashboard=False, log_to_driver=False,
                           ignore_reinit_error=True, configure_logging=False)
            if self.address == "local":
                ray.init(num_cpus=os.cpu_count(), object_store_memory=512 << 20, **options)
            else:
                ray.init(address=self.address, **options)
        from ray.data import DataContext

        context = DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        return ray

    def actors(self, ray) -> int:
        return self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


def ray_parse(cluster: RayCluster, files: list[tuple[Path, str]], config) -> dict:
    """``{name: Parsed}`` of ``files`` (path, name in results) read on Ray; files that
    cannot be read are left out (the local build then skips them with its own message)."""
    from .parse_worker import Parsed

    if not files:
        return {}
    ray = cluster.connect()
    items = [{"path": str(path), "name": name} for path, name in files]
    rows = ray.data.from_items(items).map_batches(
        _parse_files, batch_size=1, fn_kwargs={"config": config.to_json()}, num_cpus=1)
    parsed = {}
    for row in rows.iter_rows():
        if row["error"]:
            continue
        records = tuple(Record(**r) for r in json.loads(row["records"]))
        parsed[row["name"]] = Parsed(row["sha256"], row["encoding"], records,
                                     json.loads(row["notes"]))
    log.info("read %d of %d files on Ray", len(parsed), len(files))
    return parsed


def _parse_files(batch: dict, config: dict) -> dict:
    """Ray task: read and chunk the files of ``batch``; errors are returned, not raised."""
    import hashlib

    from .documents import parse_bytes
    from .errors import DocumentError
    from .indexer import config_from_json, document_records
    from .sources import read_file

    index_config = config_from_json(config)
    out = {key: [] for key in ("name", "sha256", "encoding", "records", "notes", "error")}
    for path, name in zip(batch["path"], batch["name"]):
        row = {"name": name, "sha256": "", "encoding": "", "records": "[]", "notes": "{}",
               "error": ""}
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


class _ChunkEmbedder:
    """Ray actor: loads the passage encoder once, then embeds chunks and counts their
    keyword tokens."""

    def __init__(self, settings, config: dict):
        from .encoder import get_passage_encoder
        from .indexer import config_from_json

        self.encoder = get_passage_encoder(settings)
        self.config = config_from_json(config)
        self.zero = np.zeros(self.encoder.dimension, dtype=np.float32)

    def __call__(self, batch: dict) -> dict:
        out = {"step": [], "vectors": [], "rows": [], "tokens": [], "embedded": []}
        for step, chunk, known in zip(batch["step"], batch["records"], batch["known"]):
            records = [Record(**r) for r in json.loads(chunk)]
            placeholders = dict.fromkeys(json.loads(known), self.zero)  # the driver has them
            vectors, embedded = embed_chunk(self.encoder, chunk_texts(records, self.config),
                                            placeholders)
            out["step"].append(int(step))
            out["vectors"].append(vectors.astype(np.float32).tobytes())
            out["rows"].append(len(vectors))
            out["tokens"].append(json.dumps(chunk_tokens(records, self.config),
                                            ensure_ascii=False))
            out["embedded"].append(embedded)
        return {"step": np.array(out["step"]), "vectors": np.array(out["vectors"], dtype=object),
                "rows": np.array(out["rows"]), "tokens": np.array(out["tokens"], dtype=object),
                "embedded": np.array(out["embedded"])}


def ray_chunks(cluster: RayCluster, records: list[Record], config, settings, dimension: int,
               known: dict[str, np.ndarray], meter: BuildProgress):
    """Per chunk of ``records``, in order: its vectors, keyword tokens and how many texts
    were embedded, made by Ray actors (see :func:`qa.build_vectors.local_chunks`). Texts
    whose vectors are ``known`` (by content hash) are not embedded there: the actors are
    told which, and their vectors are filled in here, so each chunk's batch is the one a
    local build embeds."""
    from ray.data import ActorPoolStrategy

    ray = cluster.connect()
    size = build_vectors.CHUNK
    steps = (len(records) + size - 1) // size
    if not steps:
        return
    chunks = [records[step * size:(step + 1) * size] for step in range(steps)]
    hashes = [[content_hash(t) for t in chunk_texts(chunk, config)] for chunk in chunks]
    items = [{"step": step, "records": json.dumps([r.to_json() for r in chunk],
                                                  ensure_ascii=False),
              "known": json.dumps(sorted({h for h in digests if h in known}))}
             for step, (chunk, digests) in enumerate(zip(chunks, hashes))]
    actors = min(cluster.actors(ray), steps)
    results = ray.data.from_items(items).map_batches(
        _ChunkEmbedder, batch_size=1, num_cpus=1, compute=ActorPoolStrategy(size=actors),
        fn_constructor_kwargs={"settings": settings, "config": config.to_json()})
    log.info("embedding %d chunks of passages on Ray with %d actors", steps, actors)
    expected = 0
    for row in results.iter_rows():
        if int(row["step"]) != expected:
            raise QAError(f"Ray returned chunk {row['step']} where {expected} was expected")
        expected += 1
        vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, dimension).copy()
        for i, digest in enumerate(hashes[expected - 1]):
            if digest in known:
                vectors[i] = known[digest]
        yield vectors, json.loads(row["tokens"]), int(row["embedded"])

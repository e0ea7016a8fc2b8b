"""Reading untrusted files in a child process with a time and memory budget.

:func:`parse_files` hands files to ``python -m qa.parse_worker``, which reads and chunks them
(:func:`qa.documents.parse_bytes`, :func:`qa.indexer.document_records`) under an address-space
limit (:data:`~qa.limits.PARSE_MEMORY_BYTES`) and is killed after
:data:`~qa.limits.PARSE_SECONDS`. A pathological upload then costs one child process, never
the server's memory or the threads that answer questions. The passages come back as JSON, so
the index build does not read the file again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DocumentError
from .limits import OCR_SECONDS_PER_MB, PARSE_MEMORY_BYTES, PARSE_SECONDS
from .passage import Record

_OUT_OF_MEMORY = ("MemoryError", "failed to map segment", "Cannot allocate memory", "bad_alloc")


@dataclass(frozen=True)
class Parsed:
    """A file read and cut into passages: its sha256, the encoding that decoded it, its
    passages (ids ``<source>#<n>``)."""

    sha256: str
    encoding: str
    records: tuple[Record, ...]
    notes: dict = field(default_factory=dict)


def time_budget(files: list[tuple[str, bytes]], seconds: float = PARSE_SECONDS) -> float:
    """Seconds the worker may take for ``files``: ``seconds``, plus
    :data:`~qa.limits.OCR_SECONDS_PER_MB` per MB of PDF (a scan's pages are read by OCR)."""
    pdf_bytes = sum(len(data) for name, data in files if name.lower().endswith(".pdf"))
    return seconds + OCR_SECONDS_PER_MB * pdf_bytes / 2**20


def parse_files(files: list[tuple[str, bytes]], config, seconds: float = PARSE_SECONDS,
                memory: int = PARSE_MEMORY_BYTES) -> dict[str, Parsed]:
    """Read and chunk ``(source name, content)`` pairs in a child process.

    Args:
        files: each file's name in results (``uploads/x.pdf``) and its bytes.
        config: the :class:`~qa.indexer.IndexConfig` the passages are made with.
        seconds, memory: the child's budget (defaults from :mod:`qa.limits`; PDFs add time,
            :func:`time_budget`).
    Returns:
        ``{source name: Parsed}``.
    Raises:
        DocumentError: a file cannot be read (the message names it), or the child ran out of
            time or memory.
    """
    import hashlib

    names = ", ".join(Path(name).name for name, _ in files)
    seconds = time_budget(files, seconds)
    with tempfile.TemporaryDirectory(prefix="qa-parse-") as folder:
        request = {"config": asdict(config), "memory": memory, "files": []}
        for number, (name, data) in enumerate(files):
            path = Path(folder) / str(number)
            path.write_bytes(data)
            request["files"].append({"path": str(path), "source": name})
        try:
            done = subprocess.run([sys.executable, "-m", "qa.parse_worker"],
                                  input=json.dumps(request), capture_output=True, text=True,
                                  timeout=seconds, env=dict(os.environ, OMP_NUM_THREADS="1"))
        except subprocess.TimeoutExpired:
            raise DocumentError(f"{names}: reading took longer than {seconds:.0f} s; "
                                "refused") from None
    if done.returncode != 0 or not done.stdout.strip():
        if any(sign in done.stderr for sign in _OUT_OF_MEMORY):
            raise DocumentError(f"{names}: reading needs more than {memory / 2**30:.1f} GB "
                                "of memory; refused")
        raise DocumentError(f"{names}: the reader stopped ({_last_line(done.stderr)}); refused")
    out = {}
    for (name, data), result in zip(files, json.loads(done.stdout)["results"]):
        if "error" in result:
            raise DocumentError(result["error"])
        out[name] = Parsed(hashlib.sha256(data).hexdigest(), result["encoding"],
                           tuple(Record(**r) for r in result["records"]), result.get("notes", {}))
    return out


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no message"


def _main() -> None:
    """The child: read the request from stdin, write ``{"results": [...]}`` to stdout."""
    import resource

    request = json.load(sys.stdin)
    limit = int(request["memory"])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from .documents import parse_bytes
    from .indexer import IndexConfig, document_records

    config = IndexConfig(**request["config"])
    results = []
    for item in request["files"]:
        source = item["source"]
        try:
            document = parse_bytes(Path(item["path"]).read_bytes(), Path(source).name,
                                   ocr=config.ocr)
            records = document_records(document, source, config)
            results.append({"encoding": document.encoding, "notes": document.notes,
                            "records": [r.to_json() for r in records]})
        except DocumentError as exc:
            results.append({"error": str(exc)})
        except MemoryError:
            results.append({"error": f"{Path(source).name}: reading needs more than "
                                     f"{limit / 2**30:.1f} GB of memory; refused"})
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    _main()

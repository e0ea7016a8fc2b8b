"""The ``qa`` command: build, sync, export, ask, eval, serve, user, token. Thin wiring over the library.

Log lines of the ``qa`` logger go to stderr: INFO by default (builds and why, conversions,
exports, the chat's questions), ``-v`` adds DEBUG, ``-q`` keeps warnings and errors only.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path

from .cli_accounts import add_commands


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Send the ``qa`` logger's records to stderr (the root logger is left alone)."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logger = logging.getLogger("qa")
    logger.setLevel(level)
    if not any(getattr(h, "qa_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.qa_cli = True
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                               "%H:%M:%S"))
        logger.addHandler(handler)


def _settings(args):
    from .config import Settings

    settings = Settings.from_env().with_model(getattr(args, "model", None))
    if getattr(args, "index_root", None):
        settings = replace(settings, index_root=Path(args.index_root))
    if getattr(args, "docs", None):
        settings = replace(settings, docs_dir=Path(args.docs))
    return settings


def _retriever(args, settings):
    from .retriever import Retriever

    if args.index:
        return Retriever(Path(args.index), settings=settings, progress=not args.quiet)
    return Retriever(settings.index_root / settings.docs_dir.name, documents=[settings.docs_dir],
                     settings=settings, progress=not args.quiet)


def cmd_build(args) -> int:
    from .errors import QAError
    from .indexer import IndexConfig
    from .retriever import Retriever

    settings = _settings(args)
    paths = args.paths or [settings.docs_dir]
    folder = Path(args.index) if args.index else settings.index_root / Path(paths[0]).name
    config = IndexConfig(compact=True if args.compact else None, exact=settings.exact,
                         ocr=settings.ocr)
    address = settings.ray_address if args.ray is None else \
        args.ray or settings.ray_address or "local"
    if args.ray_workers is not None and (not address or args.ray_workers < 1):
        raise QAError("--ray-workers needs --ray (or QA_RAY_ADDRESS) and a count of 1 or more")
    ray = None
    if address:
        from .ray_build import RayCluster

        ray = RayCluster(address, args.ray_workers)
    loaded = Retriever(folder, documents=paths, settings=settings, config=config,
                       progress=not args.quiet, ray=ray).rebuild()
    counts = loaded.manifest["counts"]
    print(f"indexed {len(loaded.manifest['documents'])} documents, {counts['passages']} passages, "
          f"{counts['sentences']} sentences ({counts['embedded']} texts embedded, the rest "
          f"reused) into {folder} in {loaded.manifest['seconds']:.1f} s")
    from .pdftext import pages_note

    for doc in loaded.manifest["documents"]:
        if doc.get("ocr_pages") or doc.get("unreadable_pages"):
            print(f"  {doc['source']}: {pages_note(doc)}")
    for name, first in (loaded.manifest.get("duplicates") or {}).items():
        print(f"  {name}: the same content as {first}, indexed once")
    for name, reason in (loaded.manifest.get("skipped") or {}).items():
        print(f"  skipped {name}: {reason}", file=sys.stderr)
    return 0


def cmd_sync(args) -> int:
    import threading

    from .retriever import Retriever
    from .sync import FolderWatch

    settings = _settings(args)
    folder = Path(args.index) if args.index else settings.index_root / Path(args.paths[0]).name
    watch = FolderWatch(Retriever(folder, documents=args.paths, settings=settings,
                                  progress=not args.quiet))

    def report(result) -> None:
        print(f"synced {folder}: {result or 'up to date'}", flush=True)
        for name, reason in (result.skipped if result else {}).items():
            print(f"  skipped {name}: {reason}", file=sys.stderr)

    report(watch.sync())
    if args.watch:
        print(f"watching {', '.join(args.paths)} every {args.interval:g} s (Ctrl+C stops)",
              flush=True)
        try:
            watch.run(args.interval, threading.Event(), on_sync=report)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_export(args) -> int:
    from . import milvus_store
    from .errors import QAError
    from .milvus_client import client as milvus_client
    from .indexer import config_from_json
    from .store import IndexStore

    settings = _settings(args)
    folder = Path(args.index) if args.index else settings.index_root / settings.docs_dir.name
    loaded = IndexStore(folder).load()
    if loaded is None:
        raise QAError(f"{folder} holds no index; run `qa build` first")
    uri = args.uri or settings.milvus_address
    base = milvus_store.collection_base(folder)
    client = milvus_client(uri, args.token or settings.milvus_token)
    counts = milvus_store.publish(loaded, client, base, config_from_json(loaded.manifest["config"]),
                            full=args.full)
    print(f"exported {folder} (version {loaded.folder.name}) to Milvus {uri} as {base}: "
          f"{counts['sent']} passages sent, {counts['deleted']} deleted, {counts['kept']} kept")
    return 0


def cmd_ask(args) -> int:
    settings = _settings(args)
    passages = _retriever(args, settings).retrieve(args.question, k=args.k, history=args.history,
                                                   possible=not args.answers_only,
                                                   sources=args.source)
    if args.json:
        print(json.dumps([dict(asdict(p), answer=p.answer) for p in passages], ensure_ascii=False))
        return 0
    if not any(p.tier == "answer" for p in passages):
        print("not found in these documents" + (": possibly relevant passages follow"
                                                 if passages else ""))
    for rank, p in enumerate(passages, 1):
        mark = "" if p.tier == "answer" else " (possibly relevant)"
        print(f"{rank}. [{p.score:.3f}]{mark} {p.source} — {p.title}"
              + (f" · {p.location}" if p.location else ""))
        print(f"   {p.text}")
        if p.answer:
            print(f"   answer: {p.answer}")
        if p.also_in:
            print(f"   also in: {', '.join(p.also_in)}")
    return 0


def cmd_eval(args) -> int:
    from .evaluate import run_eval

    result = run_eval(Path(args.corpus), Path(args.queries), Path(args.qrels), _settings(args),
                      titles=args.titles, progress=not (args.json or args.quiet))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>10}: {value}")
    return 0


def cmd_serve(args) -> int:
    from .web import serve

    settings = _settings(args)
    if args.host:
        settings = replace(settings, host=args.host)
    if args.port:
        settings = replace(settings, port=args.port)
    if args.insecure:
        settings = replace(settings, insecure=True)
    serve(settings)
    return 0


def parser() -> argparse.ArgumentParser:
    def verbosity(p, default):
        p.add_argument("-v", "--verbose", action="count", default=default,
                       help="more log lines (DEBUG)")
        p.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="only warnings and errors")

    top = argparse.ArgumentParser(prog="qa", description="Question answering over documents.")
    verbosity(top, 0)
    sub = top.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--model", help="sentence-transformers model (hub id or folder); "
                       "default: $QA_MODEL or the bundled multilingual-e5-small")
        p.add_argument("--index-root", help="where indexes live (default: embeddings/ in a "
                       "checkout, else the user's data folder)")
        verbosity(p, argparse.SUPPRESS)

    def docs_option(p):
        p.add_argument("--docs", help="the documents to answer from, indexed in "
                       "<index root>/<folder name> (default: $QA_DOCS, else seeds/ in a "
                       "checkout, else documents/ in the user's data folder)")

    build = sub.add_parser("build", help="index documents (default: seeds/ or $QA_DOCS)")
    build.add_argument("paths", nargs="*", help="files or folders")
    build.add_argument("--index", help="index folder (default: embeddings/<first path name>)")
    build.add_argument("--compact", action="store_true",
                       help="fp16 vectors: half the memory (automatic from 50,000 passages)")
    build.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="read, chunk and embed on Ray: at ADDRESS (local: a runtime here; "
                            "auto or HOST:PORT: a cluster), else $QA_RAY_ADDRESS, else local "
                            "(without --ray: $QA_RAY_ADDRESS when set)")
    build.add_argument("--ray-workers", type=int, metavar="N",
                       help="embedding actors on Ray (default: one per CPU)")
    common(build)
    build.set_defaults(func=cmd_build)

    sync = sub.add_parser("sync", help="keep an index in step with folders (new, changed and "
                          "deleted files)")
    sync.add_argument("paths", nargs="+", help="files or folders")
    sync.add_argument("--index", help="index folder (default: embeddings/<first path name>)")
    sync.add_argument("--watch", action="store_true", help="keep watching until Ctrl+C")
    sync.add_argument("--interval", type=float, default=2.0,
                      help="seconds between looks with --watch (default 2)")
    common(sync)
    sync.set_defaults(func=cmd_sync)

    export = sub.add_parser("export", help="copy an index folder into Milvus (what "
                            "QA_BACKEND=milvus serves)")
    export.add_argument("--to", choices=["milvus"], required=True)
    export.add_argument("--index", help="index folder (default: the documents' index)")
    export.add_argument("--uri", help="Milvus: http://host:19530 or a Milvus Lite path "
                        "(default: $QA_MILVUS_URI, else <index root>/milvus.db)")
    export.add_argument("--token", help="Milvus credentials (default: $QA_MILVUS_TOKEN)")
    export.add_argument("--full", action="store_true",
                        help="drop the collections and write them again")
    docs_option(export)
    common(export)
    export.set_defaults(func=cmd_export)

    ask = sub.add_parser("ask", help="answer a question from the index")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="passages to return (1-100, default 5)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--history", action="append", help="an earlier question (repeatable)")
    ask.add_argument("--source", action="append", metavar="NAME_OR_GLOB",
                     help="only from these documents, e.g. '*.pdf' (repeatable)")
    ask.add_argument("--answers-only", action="store_true",
                     help="leave out passages that are only possibly relevant")
    ask.add_argument("--index", help="an index folder built with `qa build --index`")
    docs_option(ask)
    common(ask)
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="recall@k and MRR@10 on a BEIR-style benchmark")
    ev.add_argument("--corpus", required=True)
    ev.add_argument("--queries", required=True)
    ev.add_argument("--qrels", required=True)
    ev.add_argument("--titles", action="store_true", help="prepend corpus titles to passages")
    ev.add_argument("--json", action="store_true", help="last line: one JSON object")
    common(ev)
    ev.set_defaults(func=cmd_eval)

    serve = sub.add_parser("serve", help="the chat page (same as `make run`)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.add_argument("--insecure", action="store_true", help="serve on an address other "
                       "than 127.0.0.1 without accounts (anyone reaching it may use it)")
    docs_option(serve)
    common(serve)
    serve.set_defaults(func=cmd_serve)
    add_commands(sub, common)
    return top


def main(argv: list[str] | None = None) -> int:
    from .errors import QAError

    args = parser().parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        return args.func(args)
    except (QAError, ValueError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``qa`` command: build, ask, eval, serve. Thin wiring over the library."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path


def _settings(args):
    from .config import Settings

    settings = Settings.from_env().with_model(getattr(args, "model", None))
    if getattr(args, "index_root", None):
        settings = replace(settings, index_root=Path(args.index_root))
    return settings


def _retriever(args, settings):
    from .retriever import Retriever

    if args.index:
        return Retriever(Path(args.index), settings=settings)
    return Retriever(settings.index_root / settings.docs_dir.name, documents=[settings.docs_dir],
                     settings=settings)


def cmd_build(args) -> int:
    from .indexer import IndexConfig, build_from_files
    from .store import IndexStore
    from .encoder import get_passage_encoder

    settings = _settings(args)
    paths = args.paths or [settings.docs_dir]
    folder = Path(args.index) if args.index else settings.index_root / Path(paths[0]).name
    config = IndexConfig(compact=True if args.compact else None)
    loaded = build_from_files(paths, IndexStore(folder), get_passage_encoder(settings), config)
    counts = loaded.manifest["counts"]
    print(f"indexed {len(loaded.manifest['documents'])} documents, {counts['passages']} passages, "
          f"{counts['sentences']} sentences ({counts['embedded']} texts embedded, the rest "
          f"reused) into {folder} in {loaded.manifest['seconds']:.1f} s")
    return 0


def cmd_ask(args) -> int:
    settings = _settings(args)
    passages = _retriever(args, settings).retrieve(args.question, k=args.k, history=args.history)
    if args.json:
        print(json.dumps([dict(asdict(p), answer=p.answer) for p in passages], ensure_ascii=False))
        return 0
    if not passages:
        print("not found in these documents")
    for rank, p in enumerate(passages, 1):
        print(f"{rank}. [{p.score:.3f}] {p.source} — {p.title}")
        print(f"   {p.text}")
        if p.answer:
            print(f"   answer: {p.answer}")
    return 0


def cmd_eval(args) -> int:
    from .evaluate import run_eval

    result = run_eval(Path(args.corpus), Path(args.queries), Path(args.qrels), _settings(args),
                      titles=args.titles, progress=not args.json)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>10}: {value}")
    return 0


def cmd_serve(args) -> int:
    import os

    if args.host:
        os.environ["GRADIO_SERVER_NAME"] = args.host
    if args.port:
        os.environ["GRADIO_SERVER_PORT"] = str(args.port)
    if args.model:
        os.environ["QA_MODEL"] = args.model
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    import app

    app.main([])  # host and port arrive through the environment set above
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="qa", description="Question answering over documents.")
    sub = top.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--model", help="sentence-transformers model (hub id or folder); "
                       "default: $QA_MODEL or the bundled multilingual-e5-small")
        p.add_argument("--index-root", help="where indexes live (default: embeddings/)")

    build = sub.add_parser("build", help="index documents (default: seeds/)")
    build.add_argument("paths", nargs="*", help="files or folders")
    build.add_argument("--index", help="index folder (default: embeddings/<first path name>)")
    build.add_argument("--compact", action="store_true",
                       help="fp16 vectors: half the memory (automatic from 50,000 passages)")
    common(build)
    build.set_defaults(func=cmd_build)

    ask = sub.add_parser("ask", help="answer a question from the index")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="passages to return (1-100, default 5)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--history", action="append", help="an earlier question (repeatable)")
    ask.add_argument("--index", help="an index folder built with `qa build --index`")
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
    serve.add_argument("--model")
    serve.set_defaults(func=cmd_serve)
    return top


def main(argv: list[str] | None = None) -> int:
    from .errors import QAError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (QAError, ValueError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

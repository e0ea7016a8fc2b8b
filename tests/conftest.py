"""Shared fixtures: the real converted model, loaded once per test session; nothing downloads."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_b0e56cfeed1eb8fd.txt"


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    """Default settings with a private index root (the model cache is the user's)."""
    from qa.config import Settings

    return replace(Settings.from_env(), index_root=tmp_path_factory.mktemp("indexes"))


@pytest.fixture(scope="session")
def encoder(settings):
    from qa.encoder import get_encoder

    return get_encoder(settings)


@pytest.fixture(scope="session")
def seed_retriever(settings, encoder, tmp_path_factory):
    """A retriever over a copy of seeds/, built once."""
    from qa.retriever import Retriever

    docs = tmp_path_factory.mktemp("seeds")
    shutil.copy(SEED, docs / SEED.name)
    retriever = Retriever(settings.index_root / "seeds", documents=[docs], settings=settings,
                          progress=False)
    retriever.index
    return retriever


@pytest.fixture
def make_retriever(settings, encoder, tmp_path):
    """Factory: a retriever over the given {file name: text or bytes} documents."""
    from qa.retriever import Retriever

    def make(files: dict, name: str = "docs"):
        docs = tmp_path / name
        docs.mkdir(exist_ok=True)
        for file_name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (docs / file_name).write_bytes(data)
        return Retriever(tmp_path / f"index-{name}", documents=[docs], settings=settings,
                         progress=False), docs

    return make

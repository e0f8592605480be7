"""The shipped GPT-2 tokenizer files: tiktoken accepts them offline, and the rebuild script
derives exactly them from the GPT-2 ranks."""

import hashlib
import json
import os
import subprocess
import sys

from autograder.assignments.tokens_and_loss.tokenizer import CACHE_DIR, gpt2
from tools.rebuild_tiktoken_cache import BASE_URL, EXPECTED, build, byte_to_unicode


def test_book_ids_offline():
    tokenizer = gpt2()
    assert tokenizer.encode("every effort moves") == [16833, 3626, 6100]
    assert tokenizer.encode("Hi<|endoftext|>", allowed_special={"<|endoftext|>"})[-1] == 50256


def test_shipped_files_have_the_names_and_hashes_tiktoken_expects():
    for name, sha256 in EXPECTED.items():
        path = CACHE_DIR / hashlib.sha1((BASE_URL + name).encode()).hexdigest()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def test_rebuild_reproduces_the_shipped_bytes():
    encoder_path = CACHE_DIR / hashlib.sha1((BASE_URL + "encoder.json").encode()).hexdigest()
    to_byte = {char: byte for byte, char in byte_to_unicode().items()}
    encoder = json.loads(encoder_path.read_bytes())
    ranks = sorted((rank, token) for token, rank in encoder.items() if token != "<|endoftext|>")
    tokens = [bytes(to_byte[char] for char in token) for _, token in ranks]
    rebuilt = build(tokens)
    for name, data in rebuilt.items():
        assert hashlib.sha256(data).hexdigest() == EXPECTED[name], name


def test_a_fresh_process_needs_no_network():
    # An unreachable proxy makes any download attempt fail fast.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    env.pop("TIKTOKEN_CACHE_DIR", None)
    code = ("from autograder.assignments.tokens_and_loss.tokenizer import gpt2; "
            "print(gpt2().encode(' really like chocolate'))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[1107, 588, 11311]", done.stderr

"""Token counts as the splitter counts them (tiktoken ``cl100k_base``): chunk sizes and the
passage text a prompt holds are measured in the same unit."""

from functools import cache

import tiktoken

ENCODING = "cl100k_base"


@cache
def _encoding(name: str) -> tiktoken.Encoding:
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = ENCODING) -> int:
    # Documents are data: a literal "<|endoftext|>" in one is text, not an error.
    return len(_encoding(encoding).encode(text, disallowed_special=()))

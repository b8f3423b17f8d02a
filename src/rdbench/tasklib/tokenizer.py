"""Word-level tokenizer with a small fixed vocabulary for the synthetic corpus.

Pure stdlib: may be copied into task workspaces. Ids are stable: special
tokens first, then ``corpus.vocabulary()`` order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

SPECIALS = ["<pad>", "<unk>", "<mask>", "<bos>"]


class WordTokenizer:
    """Maps words to integer ids and back.

    Args:
        words: the vocabulary (without special tokens), in id order.
    """

    def __init__(self, words: Sequence[str]) -> None:
        self.itos: list[str] = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def default(cls) -> WordTokenizer:
        """Tokenizer over the synthetic corpus vocabulary (144 ids)."""
        from rdbench.tasklib.corpus import vocabulary

        return cls(vocabulary())

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi["<pad>"]

    @property
    def unk_id(self) -> int:
        return self.stoi["<unk>"]

    @property
    def mask_id(self) -> int:
        return self.stoi["<mask>"]

    def encode(self, text: str | Iterable[str]) -> list[int]:
        """Encode a whitespace-separated string (or a word list) to ids."""
        words = text.split() if isinstance(text, str) else text
        unk = self.unk_id
        return [self.stoi.get(w, unk) for w in words]

    def decode(self, ids: Iterable[int]) -> str:
        """Decode ids to a space-joined string."""
        return " ".join(self.itos[int(i)] for i in ids)

    def to_json(self) -> str:
        """Serialise (the id order) as JSON, for shipping into workspaces."""
        return json.dumps({"itos": self.itos})

    @classmethod
    def from_json(cls, text: str) -> WordTokenizer:
        """Inverse of ``to_json``."""
        tok = cls([])
        tok.itos = list(json.loads(text)["itos"])
        tok.stoi = {w: i for i, w in enumerate(tok.itos)}
        return tok

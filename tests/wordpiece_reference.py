"""BERT's uncased WordPiece tokenisation in plain Python, written from the
published algorithm (basic tokenisation: cleaning, CJK ideographs set
apart, whitespace split, lower-casing, NFD accent stripping, punctuation
split; then greedy longest-match-first pieces with a "##" prefix after a
word's first piece, words over 100 characters one [UNK]), with Python's
own Unicode database for every character class.

    wordpiece_reference.py VOCAB OUT

reads VOCAB (one token per line, in id order) and writes OUT, one JSON
object per line: "text", "max_len", "basic" (the basic words joined by
spaces) and "ids" ([CLS] pieces [SEP], truncated to max_len, padded with
[PAD]). The texts: every code point of the ranges the engine handles
without a Unicode database (engine/io/io_wordpiece.h) between two letters,
hand-picked hard cases, and random text drawn from those ranges
(fixed seed). tests/test_wordpiece.c compares the engine with it."""

import json
import random
import sys
import unicodedata

MAX_WORD = 100
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
       (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK)


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_words(text):
    kept = []
    for ch in text:
        if ord(ch) in (0, 0xFFFD) or is_control(ch):
            continue
        kept.append(" " if is_whitespace(ch) else ch)
    spaced = "".join(" %s " % ch if is_cjk(ch) else ch for ch in kept)
    words = []
    for word in spaced.split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(ch for ch in word if unicodedata.category(ch) != "Mn")
        current = ""
        for ch in word:
            if is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


def pieces(word, vocab):
    if len(word) > MAX_WORD:
        return ["[UNK]"]
    out, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        out.append(piece)
        start = end
    return out


def encode(text, vocab, max_len):
    tokens = [p for w in basic_words(text) for p in pieces(w, vocab)][: max_len - 2]
    ids = [vocab["[CLS]"]] + [vocab[t] for t in tokens] + [vocab["[SEP]"]]
    return ids + [vocab["[PAD]"]] * (max_len - len(ids))


def handled(ch):
    """A character the engine's tables cover exactly (io_wordpiece.h)."""
    cp = ord(ch)
    if unicodedata.category(ch) == "Cn" or 0xF900 <= cp <= 0xFAFF:
        return False
    if cp < 0x180 or 0x300 <= cp <= 0x36F:
        return True
    blocks = [(0x2000, 0x206F), (0x2E00, 0x2E7F), (0x3000, 0x303F), (0x30FB, 0x30FB),
              (0xFE10, 0xFE1F), (0xFE30, 0xFE6F), (0xFF00, 0xFFEF), (0x4E00, 0x4E2F)]
    if any(lo <= cp <= hi for lo, hi in blocks):
        return True
    # letters that are already lower-case and have no decomposition: kept as they are
    return unicodedata.category(ch) == "Ll" and ch.lower() == ch and unicodedata.decomposition(ch) == ""


def texts():
    out = []
    ranges = [(0x0, 0x17F), (0x300, 0x36F), (0x2000, 0x206F), (0x2E00, 0x2E7F), (0x3000, 0x303F),
              (0xFE10, 0xFE6F), (0xFF00, 0xFFEF), (0x4E00, 0x4E0F)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            if cp and handled(chr(cp)):
                out.append(("ab%sCd" % chr(cp), 16))
    out += [
        ("UNaffable", 8), ("The man's playing!", 16), ("Caf\u00e9 na\u00efve \u00dcBER", 16),
        ("Cafe\u0301 \u0301the", 16), ("t-shirt.", 16), ("\u4e2d\u56fdman", 16), ("xyz plays playx", 16),
        ("\tthe\u00a0man\u200b", 16), ("a" * 100, 128), ("a" * 101, 128), ("the man plays", 5),
        ("", 4), ("   ", 4), ("\u0130stanbul \u0141\u00f3d\u017a STRA\u00dfE \u00c6sir", 32),
        ("don't\u2019s \u00bfqu\u00e9? \u00abhi\u00bb", 32), ("x\u2028y\u2029z\u3000w", 16),
        ("\u00bd \u00b2 \u00b5 \u00d7 \u00f7 \u00aa \u00ba", 24), ("a\x01b\x7fc\x85d\u00ade", 16),
    ]
    rng = random.Random(22)
    pool = [chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1) if cp and handled(chr(cp))]
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(400):
        n = rng.randint(1, 40)
        chars = []
        for _ in range(n):
            r = rng.random()
            chars.append(rng.choice(letters) if r < 0.55 else " " if r < 0.7 else rng.choice(pool))
        out.append(("".join(chars), rng.choice([6, 16, 40])))
    return out


def main():
    vocab_path, out_path = sys.argv[1], sys.argv[2]
    with open(vocab_path, encoding="utf-8") as f:
        tokens = f.read().split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    vocab = {t: i for i, t in enumerate(tokens)}
    with open(out_path, "w", encoding="utf-8") as f:
        for text, max_len in texts():
            row = {"text": text, "max_len": max_len, "basic": " ".join(basic_words(text)),
                   "ids": encode(text, vocab, max_len)}
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

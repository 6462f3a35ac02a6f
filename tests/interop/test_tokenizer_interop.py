"""Ember's tokenizer against the Hugging Face `tokenizers` package, id for id.

(a) `ember tokenizer train` -> tokenizers.Tokenizer.from_file encodes unseen text identically;
(b) tokenizers-trained files (GPT-4 Split + ByteLevel, GPT-2 ByteLevel alone, a Qwen2-style NFC
    + single-digit pattern, and the legacy "a b" merges format) -> `ember tokenizer encode` gives the
    same ids; `ember tokenizer decode` restores the text.
The text is generated here (many scripts, emoji ZWJ sequences, long digit runs, tabs, whitespace
runs, code); nothing is downloaded. Exits non-zero on any mismatch.
"""
import json
import os
import random
import subprocess
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

EMBER = os.environ["EMBER_BIN"]
TMP = os.environ.get("EMBER_TEST_TMP", "/tmp/ember_tokenizer_interop")
os.makedirs(TMP, exist_ok=True)

GPT4_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = GPT4_PATTERN.replace(r"\p{N}{1,3}", r"\p{N}")
SPECIALS = ["<|bos|>", "<|eos|>", "<|pad|>", "<think>", "</think>", "<answer>", "</answer>"]

WORDS = {
    "en": "the quick brown fox jumps over lazy dog don't I'M we'll they've it's running tokenizer".split(),
    "de": "Größe Straße über schön Mädchen Ärger fünf".split(),
    "fr": "déjà vu être naïve garçon où français".split(),
    "ru": "привет мир быстрый язык токенизатор".split(),
    "el": "καλημέρα κόσμε γλώσσα".split(),
    "ar": "مرحبا بالعالم اللغة العربية".split(),
    "he": "שלום עולם שפה".split(),
    "hi": "नमस्ते दुनिया भाषा हिन्दी".split(),
    "th": "สวัสดีชาวโลก ภาษาไทย".split(),
    "zh": "你好世界 语言模型 训练 数据".split(),
    "ja": "こんにちは世界 カタカナ ひらがな 漢字".split(),
    "ko": "안녕하세요 세계 한국어".split(),
}
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👩🏽‍💻", "❤️", "🇫🇷", "🧑‍🚀", "✨"]
CODE = ["def f(x):\n\treturn x**2  # square", "for (int i = 0; i < n; ++i) { s += a[i]; }",
        "if x != None and y >= 3:", "std::vector<int> v{1, 2, 3};", "<div class=\"a\">&nbsp;</div>",
        "SELECT * FROM t WHERE id = 42;", "x = [1,2,3]\r\ny = {'a': 1}"]
SPACES = [" ", "  ", "   \t", "\t", "\t\t", "\n", "\r\n", "\u00a0", "\u3000", "     ", "\u2009", " \n \n",
          "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028", "\u2029", "\u180e", "\u200b", "\ufeff",
          "\u1680", "\u202f", "\u205f", " \x85 ", "\u00a0\u00a0x"]


def random_text(rng, pieces):
    out = []
    for _ in range(pieces):
        kind = rng.random()
        if kind < 0.55:
            out.append(rng.choice(WORDS[rng.choice(list(WORDS))]))
        elif kind < 0.65:
            out.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25))))
        elif kind < 0.72:
            out.append(rng.choice(EMOJI))
        elif kind < 0.78:
            out.append(rng.choice(CODE))
        elif kind < 0.83:
            out.append("".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 6))))
        elif kind < 0.86:
            out.append(rng.choice(".,;:!?-()[]'\"/\\"))
        else:
            out.append(rng.choice(SPACES))
        out.append(" " if rng.random() < 0.7 else "")
    return "".join(c for c in "".join(out) if not 0xD800 <= ord(c) <= 0xDFFF)


def test_lines(seed, count):
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        line = random_text(rng, rng.randint(1, 40)).replace("\n", " ").replace("\r", " ")
        if i % 7 == 0:
            line = rng.choice(SPECIALS) + line + rng.choice(SPECIALS)
        if i % 11 == 0:
            line = "   " + line + "\t\t  "
        lines.append(line)
    lines += ["", " ", "1234567890123456789", "e\u0301 cafe\u0301 Å", "a\u0085b", "x\u200dy", "\t\tz"]
    return lines


def run(args, stdin=None):
    result = subprocess.run([EMBER, *args], input=stdin, capture_output=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: ember {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}")
    return result.stdout


def ember_encode(tokenizer_path, lines):
    path = os.path.join(TMP, "lines.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(line + "\n" for line in lines))
    out = run(["tokenizer", "encode", "--tokenizer", tokenizer_path, "--input", path, "--threads", "2"])
    rows = out.decode().split("\n")[:-1]
    return [[int(t) for t in row.split()] for row in rows]


def ember_decode(tokenizer_path, ids):
    text = "".join(" ".join(map(str, row)) + "\n" for row in ids)
    return run(["tokenizer", "decode", "--tokenizer", tokenizer_path], stdin=text.encode()).decode().split("\n")[:-1]


failures = []


def compare(name, tokenizer_path, lines, check_decode=True):
    hf = Tokenizer.from_file(tokenizer_path)
    expected = [hf.encode(line, add_special_tokens=False).ids for line in lines]
    got = ember_encode(tokenizer_path, lines)
    if len(got) != len(lines):
        failures.append(f"{name}: ember returned {len(got)} lines for {len(lines)}")
        return
    bad = [i for i in range(len(lines)) if got[i] != expected[i]]
    for i in bad[:3]:
        failures.append(f"{name}: line {i} {lines[i]!r}\n  ember {got[i]}\n  hf    {expected[i]}")
    if check_decode:
        decoded = ember_decode(tokenizer_path, got)
        wrong = [i for i in range(len(lines)) if decoded[i] != lines[i]]
        for i in wrong[:3]:
            failures.append(f"{name}: decode of line {i} gave {decoded[i]!r}, expected {lines[i]!r}")
    print(f"{name}: {len(lines) - len(bad)}/{len(lines)} lines identical, "
          f"{sum(map(len, got))} tokens", flush=True)


def train_with_tokenizers(corpus_path, pre_tokenizer, normalizer=None):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train([corpus_path], trainer)
    return tokenizer


def main():
    rng = random.Random(1234)
    corpus_path = os.path.join(TMP, "corpus.txt")
    with open(corpus_path, "w", encoding="utf-8") as f:
        for _ in range(3000):
            f.write(random_text(rng, rng.randint(5, 60)) + "\n")
    lines = test_lines(99, 1500)

    # (a) trained by Ember, loaded by tokenizers.
    ember_path = os.path.join(TMP, "ember_tokenizer.json")
    run(["tokenizer", "train", "--input", corpus_path, "--vocab-size", "3000", "--out", ember_path,
         "--special", "<|im_start|>"])
    compare("ember-trained", ember_path, lines + ["<|im_start|>user"])

    # (a') trained by Ember with single-digit pre-splitting: the Qwen2 pattern, every digit a piece.
    digits_path = os.path.join(TMP, "ember_tokenizer_digits.json")
    run(["tokenizer", "train", "--input", corpus_path, "--vocab-size", "3000", "--out", digits_path,
         "--digits", "single"])
    compare("ember-trained single digits", digits_path, lines + ["What is 516 - 2459?"])
    hf_digits = Tokenizer.from_file(digits_path)
    pieces = hf_digits.encode("x 2026 y", add_special_tokens=False).tokens
    if [piece for piece in pieces if any(c.isdigit() for c in piece)] != list("2026"):
        failures.append(f"single digits: 'x 2026 y' pre-split into {pieces}, expected each digit alone")

    # (b) trained by tokenizers, loaded by Ember.
    split = pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated", invert=False)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    gpt4 = train_with_tokenizers(corpus_path, pre_tokenizers.Sequence([split, byte_level]))
    gpt4_path = os.path.join(TMP, "hf_gpt4.json")
    gpt4.save(gpt4_path)
    compare("tokenizers-trained GPT-4 split", gpt4_path, lines)

    gpt2 = train_with_tokenizers(corpus_path, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    gpt2_path = os.path.join(TMP, "hf_gpt2.json")
    gpt2.save(gpt2_path)
    compare("tokenizers-trained GPT-2 ByteLevel", gpt2_path, lines)

    qwen_split = pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False)
    qwen = train_with_tokenizers(corpus_path, pre_tokenizers.Sequence([qwen_split, byte_level]), normalizers.NFC())
    qwen_path = os.path.join(TMP, "hf_qwen2_style.json")
    qwen.save(qwen_path)
    compare("tokenizers-trained Qwen2-style NFC", qwen_path, lines, check_decode=False)

    legacy = json.load(open(gpt4_path, encoding="utf-8"))
    legacy["model"]["merges"] = [" ".join(pair) for pair in legacy["model"]["merges"]]
    legacy_path = os.path.join(TMP, "hf_legacy_merges.json")
    json.dump(legacy, open(legacy_path, "w", encoding="utf-8"), ensure_ascii=False)
    compare("legacy 'a b' merges", legacy_path, lines[:300])

    if failures:
        print("\n".join(failures))
        sys.exit(f"FAILED: {len(failures)} mismatches")
    print("tokenizer interop: all identical")


main()

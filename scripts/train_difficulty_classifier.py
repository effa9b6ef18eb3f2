#!/usr/bin/env python3
"""Train the request-difficulty classifier behind `model: "auto"`.

Usage:
    python3 scripts/train_difficulty_classifier.py [DATA_DIR] [--out PATH] [--check-sklearn]

DATA_DIR defaults to `../shared/data/routing-train` relative to the repository root (the folder
with README.md, LICENSE-LLMRouter and data/). The data stays there: its licence terms (see its
README) say not to copy it into this repository, so only the derived weights are written, to
`Sources/GateRouterRouting/Resources/difficulty-model.json`. Needs Python 3 and numpy only;
scikit-learn is used for a cross-check when installed and `--check-sklearn` is given.
The run is deterministic (fixed fold assignment, full-batch optimiser, no random state).

Label ("hard")
--------------
Every prompt carries the grader's score for 9 open models. default_llm.json gives their sizes:
six are 7-9B ("small": codegemma-7b, mistral-7b-instruct-v0.3, qwen2.5-7b-instruct,
llama-3.1-8b-instruct, llama3-chatqa-1.5-8b, gemma-2-9b-it) and three are 49-70B ("large").
A model solves a prompt when its score is >= 0.5 (= score 1 on every task but commongen).

    hard      = at most 2 of the 6 small models solve it (the small tier mostly fails),
                and at least one of the 9 models solves it;
    easy      = 3 or more of the 6 small models solve it;
    unsolved  = no model solves it -> left out of training (weight UNSOLVED_WEIGHT = 0).

This is the data README's easy vs medium+hard split. Unsolved prompts are dropped because most of
them are grader noise rather than difficulty (73 % of trivia_qa is "unsolved" under a
substring-match grader, while a frontier model would answer it); they stay in the routing
evaluation, where every tier scores 0 on them. "Hard" means hard for 7-9B models, not for a
frontier model.

Synthetic chat rows: the benchmark data has no conversational turns, so a featureless prompt
such as "hi" would just get the base rate. synthetic_chat_examples() adds ~150 short template
turns (greetings, thanks, acknowledgements, small talk) labelled easy. They are the only rows
not taken from the data; they sit in every training fold and are never scored in CV or test
metrics. None has the same token sequence as a parity string. `--no-chat` leaves them out.

Domain: each prompt's task (found by matching the text against the query files) is mapped to a
coarse domain (math / code / reasoning / knowledge / writing) for per-domain metrics and the
stratified folds. No domain model is shipped: the gateway does not route by domain yet, and a
one-vs-rest model per domain would multiply the file size.

Prompt text: the `question` field, plus for multiple-choice tasks the options the model saw,
appended as "\\nA. option" lines (the data README notes the stems lack them; +0.01 CV AUC);
MBPP's asserts are not appended.

Features (identical in DifficultyClassifier.swift; FEATURES_SPEC below is stored in the JSON):
hashed unigrams+bigrams of ASCII-alphanumeric tokens (64-bit FNV-1a, B = 4096 buckets, binary
presence) plus 4 dense features, over at most the first and last 256 bytes of the text.
Model: L2-regularised logistic regression (lambda = 150, chosen by 5-fold CV over 1..1000),
full-batch accelerated gradient descent in numpy; matches scikit-learn to ~1e-6
(`--check-sklearn`). Weights are rounded to 4 decimals; test metrics and parity use the rounded
weights.

Thresholds (chosen on 5-fold out-of-fold p(hard) on train, never on test):
    simple_below    = largest t with at most SIMPLE_MAX_HARD_RATE (20 %) of the prompts with
                      p(hard) < t hard;
    reasoning_above = smallest t with at least REASONING_MIN_PRECISION (70 %) of the prompts
                      with p(hard) >= t hard.
Routing evaluation: two tiers, p(hard) >= t -> llama-3.1-nemotron-51b-instruct ($0.90), else
gemma-2-9b-it ($0.10), against always-cheap, always-strong and sending the same share to the
strong model at random. On this data the 49-51B models' advantage over the 9B model is nearly
flat across p(hard) (hard prompts often defeat them too), so the gain over random routing is
small; see the printed tables.
Test: test.json minus the 69 prompts whose text is also in train (see the data README).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import os
import re
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data", "routing-train"))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Sources", "GateRouterRouting", "Resources", "difficulty-model.json")
UPSTREAM_COMMIT_FALLBACK = "4e7a796942ce26e9d5f2b93191c7c2585c99c2e3"

BUCKETS = 4096  # power of two
# The gateway classifies every request: the first and last 256 bytes (the instructions and the question) keep a
# 100k-token document within the routing budget of a few microseconds, and most training prompts are shorter anyway.
CAP_HEAD = 256
CAP_TAIL = 256
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1
CODE_MARKERS = [b"```", b"def ", b"return ", b"{"]
MATH_MARKERS = [b"\\boxed", b"prove", b"theorem", b"integral", b"equation"]
DENSE_NAMES = ["log1p_tokens_over_8", "digit_byte_ratio", "code_marker", "math_marker"]

L2 = 150.0        # lambda in  mean(logloss) + L2 / (2 n) * |w|^2  (bias not penalised); picked by 5-fold CV
ITERATIONS = 1500
UNSOLVED_WEIGHT = 0.0
SOLVED_AT = 0.5
HARD_MAX_SMALL_SOLVERS = 2
SIMPLE_MAX_HARD_RATE = 0.20
REASONING_MIN_PRECISION = 0.70
CHEAP_MODEL = "gemma-2-9b-it"                      # cheapest small model, $0.10 / M tokens
STRONG_MODEL = "llama-3.1-nemotron-51b-instruct"   # best large model, $0.90 / M tokens
CHEAP_PRICE, STRONG_PRICE = 0.10, 0.90
FOLDS = 5

FEATURES_SPEC = (
    f"v1. Input: the prompt's UTF-8 bytes. Cap: if the byte length n > {CAP_HEAD + CAP_TAIL}, use bytes[0..<{CAP_HEAD}] + one space "
    f"byte (0x20) + bytes[n-{CAP_TAIL}..<n] ({CAP_HEAD + CAP_TAIL + 1} bytes); otherwise all n bytes. All features below are computed on this "
    "capped byte string. Lowercase ASCII only (bytes 0x41-0x5A += 0x20; every other byte unchanged). Tokens = maximal "
    "runs of bytes in [a-z0-9] (every other byte, including non-ASCII, separates). Hash = 64-bit FNV-1a (offset "
    "0xcbf29ce484222325, prime 0x100000001b3, h = (h ^ byte) * prime mod 2^64) over each unigram token's bytes and over "
    "each bigram of consecutive tokens as 'tok1 tok2' (tok1 bytes, one 0x20, tok2 bytes; incrementally: continue tok1's "
    "final hash with 0x20 then tok2's bytes). bucket = hash % B (B = buckets, a power of two). Sparse part: x[bucket] = "
    "1 if any unigram/bigram lands there, else 0 (binary presence). Dense part, appended at indices B..B+3: "
    "x[B] = log1p(token count)/8; x[B+1] = (count of bytes 0x30-0x39)/max(1, capped byte length); x[B+2] = 1 if the "
    "lowercased capped text contains '```' or 'def ' or 'return ' or '{' else 0; x[B+3] = 1 if it contains '\\boxed' "
    "(backslash + 'boxed') or 'prove' or 'theorem' or 'integral' or 'equation' else 0. "
    "p(hard) = 1 / (1 + exp(-(bias + sum_i weights[i] * x[i]))), weights has B + 4 entries."
)

PARITY_STRINGS = [
    "hi",
    "What is the capital of France?",
    "Write a Python function that returns the n-th Fibonacci number using memoization.",
    "Prove that there are infinitely many primes p such that p = 4k + 3, and compute the integral of x^2 from 0 to 3.",
    "Thanks! That worked.",
]

TASK_DOMAIN = {
    "math": "math", "gsm8k": "math", "agentverse-mgsm": "math",
    "mbpp": "code", "human_eval": "code",
    "agentverse-logicgrid": "reasoning", "arc_challenge": "reasoning", "gpqa": "reasoning",
    "natural_qa": "knowledge", "trivia_qa": "knowledge", "mmlu": "knowledge",
    "openbook_qa": "knowledge", "commonsense_qa": "knowledge",
    "commongen": "writing",
}


# ---------------------------------------------------------------------------------------------
# Featurizer, two independent implementations that must agree exactly.

def capped_bytes(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > CAP_HEAD + CAP_TAIL:
        data = data[:CAP_HEAD] + b" " + data[len(data) - CAP_TAIL:]
    return data


def fnv1a(data: bytes, h: int = FNV_OFFSET) -> int:
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def featurize_reference(text: str, buckets: int = BUCKETS):
    """Straightforward version: (sorted unique buckets, dense list). Used for training."""
    t = capped_bytes(text).translate(_LOWER)
    tokens = re.findall(rb"[a-z0-9]+", t)
    grams = list(tokens) + [a + b" " + b for a, b in zip(tokens, tokens[1:])]
    idx = sorted({fnv1a(g) % buckets for g in grams})
    digits = sum(1 for c in t if 0x30 <= c <= 0x39)
    dense = [
        math.log1p(len(tokens)) / 8.0,
        digits / max(1, len(t)),
        1.0 if any(m in t for m in CODE_MARKERS) else 0.0,
        1.0 if any(m in t for m in MATH_MARKERS) else 0.0,
    ]
    return idx, dense


_LOWER = bytes(c + 32 if 0x41 <= c <= 0x5A else c for c in range(256))


def _pack(pattern: bytes) -> tuple[int, int]:
    v = 0
    for c in pattern:
        v = (v << 8) | c
    return v, (1 << (8 * len(pattern))) - 1


_CODE_PACKED = [_pack(p) for p in CODE_MARKERS]
_MATH_PACKED = [_pack(p) for p in MATH_MARKERS]


def probability_streaming(text: str, weights, bias: float, buckets: int = BUCKETS) -> float:
    """Byte-at-a-time mirror of DifficultyClassifier.swift (same state machine, same summation order)."""
    data = capped_bytes(text)
    mask = buckets - 1
    seen = set()
    z_sparse = 0.0
    in_token = False
    has_prev = False
    h_uni = h_bi = prev = 0
    tokens = digits = 0
    window = 0
    code = mathm = False

    def add(h):
        nonlocal z_sparse
        b = h & mask
        if b not in seen:
            seen.add(b)
            z_sparse += weights[b]

    for raw in data:
        c = raw + 32 if 0x41 <= raw <= 0x5A else raw
        window = ((window << 8) | c) & MASK64
        if not code and any((window & m) == v for v, m in _CODE_PACKED):
            code = True
        if not mathm and any((window & m) == v for v, m in _MATH_PACKED):
            mathm = True
        is_digit = 0x30 <= c <= 0x39
        if is_digit:
            digits += 1
        if is_digit or 0x61 <= c <= 0x7A:
            if not in_token:
                in_token = True
                h_uni = FNV_OFFSET
                if has_prev:
                    h_bi = ((prev ^ 0x20) * FNV_PRIME) & MASK64
            h_uni = ((h_uni ^ c) * FNV_PRIME) & MASK64
            if has_prev:
                h_bi = ((h_bi ^ c) * FNV_PRIME) & MASK64
        elif in_token:
            in_token = False
            tokens += 1
            add(h_uni)
            if has_prev:
                add(h_bi)
            prev = h_uni
            has_prev = True
    if in_token:
        tokens += 1
        add(h_uni)
        if has_prev:
            add(h_bi)
    z = bias + z_sparse
    z += weights[buckets] * (math.log1p(tokens) / 8.0)
    z += weights[buckets + 1] * (digits / max(1, len(data)))
    z += weights[buckets + 2] * (1.0 if code else 0.0)
    z += weights[buckets + 3] * (1.0 if mathm else 0.0)
    return 1.0 / (1.0 + math.exp(-z))


def probability_reference(text: str, weights, bias: float, buckets: int = BUCKETS) -> float:
    idx, dense = featurize_reference(text, buckets)
    z = bias + sum(weights[i] for i in idx) + sum(weights[buckets + j] * v for j, v in enumerate(dense))
    return 1.0 / (1.0 + math.exp(-z))


# ---------------------------------------------------------------------------------------------
# Data

def load_rows(data_dir: str):
    base = os.path.join(data_dir, "data")
    with open(os.path.join(base, "example_data", "llm_candidates", "default_llm.json")) as f:
        llms = json.load(f)
    queries = {}
    for name in ("default_query_train.jsonl", "default_query_test.jsonl"):
        with open(os.path.join(base, "example_data", "query_data", name)) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    queries.setdefault(rec["query"], []).append(rec)
    splits = {}
    for split in ("train", "test"):
        with open(os.path.join(base, "dcrouter_preprocessed", f"{split}.json")) as f:
            splits[split] = json.load(f)
    return llms, queries, splits


def model_sizes(llms, models):
    sizes = {}
    for m in models:
        size = str(llms[m]["size"]).strip().upper()
        sizes[m] = float(size.rstrip("B"))
    return sizes


def choices_text(rec) -> str:
    if rec.get("metric") != "em_mc" or not rec.get("choices"):
        return ""
    try:
        ch = ast.literal_eval(rec["choices"]) if isinstance(rec["choices"], str) else rec["choices"]
    except (ValueError, SyntaxError):
        return ""
    if isinstance(ch, dict):
        texts = ch.get("text", [])
        labels = ch.get("label") or ch.get("labels") or [chr(65 + i) for i in range(len(texts))]
    else:
        texts = list(ch)
        labels = [chr(65 + i) for i in range(len(texts))]
    return "".join(f"\n{l}. {t}" for l, t in zip(labels, texts))


def build_examples(rows, queries, small, large):
    out = []
    for r in rows:
        recs = queries[r["question"]]
        tasks = sorted({q["task_name"] for q in recs})
        task = tasks[0]
        text = r["question"] + choices_text(recs[0])
        s = r["scores"]
        k_small = sum(s[m] >= SOLVED_AT for m in small)
        k_large = sum(s[m] >= SOLVED_AT for m in large)
        unsolved = k_small == 0 and k_large == 0
        out.append({
            "question": r["question"], "text": text, "task": "+".join(tasks), "domain": TASK_DOMAIN.get(task, "other"),
            "hard": 1 if k_small <= HARD_MAX_SMALL_SOLVERS else 0, "unsolved": unsolved, "scores": s,
        })
    return out


class SparseRows:
    """A minimal CSR-like matrix (numpy only): rows, cols, vals of the non-zeros."""

    def __init__(self, rows, cols, vals, n, d):
        self.rows, self.cols, self.vals, self.n, self.d = rows, cols, vals, n, d

    def dot(self, w):
        return np.bincount(self.rows, weights=self.vals * w[self.cols], minlength=self.n)

    def tdot(self, g):
        return np.bincount(self.cols, weights=self.vals * g[self.rows], minlength=self.d)

    def subset(self, mask):
        new_index = np.cumsum(mask) - 1
        keep = mask[self.rows]
        return SparseRows(new_index[self.rows[keep]], self.cols[keep], self.vals[keep], int(mask.sum()), self.d)

    def dense(self):
        X = np.zeros((self.n, self.d))
        X[self.rows, self.cols] = self.vals
        return X


def design(examples, buckets=BUCKETS):
    rows, cols, vals = [], [], []
    for i, e in enumerate(examples):
        idx, dense = featurize_reference(e["text"], buckets)
        for j in idx:
            rows.append(i); cols.append(j); vals.append(1.0)
        for j, v in enumerate(dense):
            if v != 0.0:
                rows.append(i); cols.append(buckets + j); vals.append(v)
    return SparseRows(np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64),
                      np.array(vals, dtype=np.float64), len(examples), buckets + 4)


# ---------------------------------------------------------------------------------------------
# Model

def train_logreg(X, y, sw, l2=L2, iters=ITERATIONS):
    """min  sum_i sw_i * logloss_i / sum(sw) + l2/(2 * sum(sw)) * |w|^2  (bias not penalised).

    Accelerated (Nesterov/FISTA-style) full-batch gradient descent with step 1/L, L from a power iteration."""
    tot = sw.sum()
    v = np.ones(X.d) / math.sqrt(X.d)
    for _ in range(50):  # largest eigenvalue of X^T diag(sw) X (+ the bias column, bounded by n)
        u = X.tdot(sw * X.dot(v))
        v = u / np.linalg.norm(u)
    top = float(v @ X.tdot(sw * X.dot(v)))
    step = 1.0 / (0.25 * (top + tot) / tot + l2 / tot)
    w = np.zeros(X.d)
    prior = min(max(float((sw * y).sum() / tot), 1e-6), 1 - 1e-6)
    b = math.log(prior / (1 - prior))
    vw, vb = w.copy(), b
    t_prev = 1.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(X.dot(vw) + vb)))
        g = sw * (p - y) / tot
        w_new = vw - step * (X.tdot(g) + l2 / tot * vw)
        b_new = vb - step * g.sum()
        t = (1 + math.sqrt(1 + 4 * t_prev * t_prev)) / 2
        vw = w_new + (t_prev - 1) / t * (w_new - w)
        vb = b_new + (t_prev - 1) / t * (b_new - b)
        w, b, t_prev = w_new, b_new, t
    return w, b


def predict(X, w, b):
    return 1.0 / (1.0 + np.exp(-(X.dot(w) + b)))


def auc(y, p):
    y = np.asarray(y)
    p = np.asarray(p)
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(sp):  # average ranks over ties
        j = i
        while j + 1 < len(sp) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    npos, nneg = pos.sum(), (~pos).sum()
    if npos == 0 or nneg == 0:
        return float("nan")
    return float((ranks[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def fold_ids(examples, k=FOLDS):
    """Deterministic folds: stratified by task, order by a hash of the text."""
    ids = np.zeros(len(examples), dtype=int)
    by_task = {}
    for i, e in enumerate(examples):
        by_task.setdefault(e["task"], []).append(i)
    for members in by_task.values():
        members.sort(key=lambda i: hashlib.sha256(examples[i]["question"].encode()).hexdigest())
        for j, i in enumerate(members):
            ids[i] = j % k
    return ids


def routing_table(examples, p, thresholds):
    """Two-tier routing: p(hard) >= t -> STRONG_MODEL, else CHEAP_MODEL. `random` = the score of sending the same
    share of prompts to the strong model at random (the baseline a useful classifier must beat)."""
    cheap = np.array([e["scores"][CHEAP_MODEL] for e in examples])
    strong = np.array([e["scores"][STRONG_MODEL] for e in examples])
    rows = []
    for t in thresholds:
        to_strong = p >= t
        share = float(to_strong.mean())
        rows.append({
            "threshold": round(float(t), 4),
            "strong_share": round(share, 4),
            "avg_score": round(float(np.where(to_strong, strong, cheap).mean()), 4),
            "random_same_share": round(float(cheap.mean() + share * (strong.mean() - cheap.mean())), 4),
            "cost_vs_always_strong": round(share + (1 - share) * CHEAP_PRICE / STRONG_PRICE, 4),
        })
    summary = {
        "cheap_model": CHEAP_MODEL, "strong_model": STRONG_MODEL,
        "always_cheap": round(float(cheap.mean()), 4), "always_strong": round(float(strong.mean()), 4),
        "oracle": round(float(np.maximum(cheap, strong).mean()), 4), "n": len(examples),
    }
    return rows, summary


def print_routing(title, rows, summary):
    print(f"ROUTING {title} (n={summary['n']}, unsolved included): always {CHEAP_MODEL} {summary['always_cheap']:.4f}, "
          f"always {STRONG_MODEL} {summary['always_strong']:.4f}, per-prompt oracle {summary['oracle']:.4f}")
    print("   p(hard) >= t -> strong | strong share | avg score | random, same share | cost vs always-strong")
    for r in rows:
        print(f"   t={r['threshold']:<5} {r['strong_share']:10.3f} {r['avg_score']:11.4f} {r['random_same_share']:12.4f} "
              f"{r['cost_vs_always_strong']:12.3f}")


def pick_simple_below(y, p):
    """Largest t (0.01 grid) such that at most SIMPLE_MAX_HARD_RATE of the prompts with p < t are hard."""
    best = 0.0
    for t in np.arange(0.01, 1.0, 0.01):
        sel = p < t
        if sel.sum() >= 20 and y[sel].mean() <= SIMPLE_MAX_HARD_RATE:
            best = float(t)
    return round(best, 2)


def pick_reasoning_above(y, p):
    """Smallest t (0.01 grid) such that at least REASONING_MIN_PRECISION of the prompts with p >= t are hard."""
    for t in np.arange(0.01, 1.0, 0.01):
        sel = p >= t
        if sel.sum() < 20:
            break
        if y[sel].mean() >= REASONING_MIN_PRECISION:
            return round(float(t), 2)
    return 0.99


def token_key(text):
    return tuple(re.findall(rb"[a-z0-9]+", text.encode("utf-8").translate(_LOWER)))


def synthetic_chat_examples():
    """Short conversational turns labelled easy (see CHAT_NOTE). Built from fixed templates; none has the same
    token sequence as a parity string, so the parity strings stay unseen."""
    greetings = ["hi there", "hello", "hello there", "hey", "hey there", "good morning", "good afternoon",
                 "good evening", "howdy", "greetings", "hiya", "hi again"]
    follow = ["", " how are you?", " can you help me?", " are you there?", " what's up?", " I have a question."]
    thanks = ["thanks", "thank you", "thanks a lot", "thank you so much", "many thanks", "great, thanks",
              "perfect, thank you", "awesome, thanks", "that helped, thanks", "it works now, thanks"]
    acks = ["ok", "okay", "got it", "sounds good", "cool", "great", "nice", "perfect", "makes sense", "understood",
            "that works", "never mind", "bye", "goodbye", "see you later", "have a nice day", "good night",
            "how are you today?", "what can you do?", "who are you?", "what is your name?", "nice to meet you",
            "tell me a joke", "are you a bot?", "please continue", "go on", "try again", "can you say that again?"]
    texts = []
    for g in greetings:
        for f in follow:
            texts.append((g.capitalize() + ("!" if f else "") + f).strip())
    for t in thanks:
        texts += [t.capitalize() + "!", t + "."]
    for a in acks:
        texts += [a.capitalize() + ("" if a.endswith("?") else "."), a]
    parity_keys = {token_key(p) for p in PARITY_STRINGS}
    texts = sorted({t for t in texts if token_key(t) not in parity_keys})
    return [{"question": t, "text": t, "task": "synthetic-chat", "domain": "chat", "hard": 0, "unsolved": False,
             "synthetic": True, "scores": None} for t in texts]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=DEFAULT_DATA)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check-sklearn", action="store_true")
    ap.add_argument("--l2", type=float, default=L2)
    ap.add_argument("--no-chat", action="store_true", help="leave out the synthetic chat examples")
    ap.add_argument("--cv-only", action="store_true", help="print cross-validation metrics and stop")
    args = ap.parse_args()

    llms, queries, splits = load_rows(args.data_dir)
    models = sorted(splits["train"][0]["scores"])
    sizes = model_sizes(llms, models)
    small = [m for m in models if sizes[m] < 20]
    large = [m for m in models if sizes[m] >= 20]
    print(f"small: {small}\nlarge: {large}")

    real = build_examples(splits["train"], queries, small, large)
    train_q = {e["question"] for e in real}
    test_all = [e for e in build_examples(splits["test"], queries, small, large) if e["question"] not in train_q]
    chat = [] if args.no_chat else synthetic_chat_examples()
    rows = real + chat
    print(f"train rows {len(real)} (solved {sum(not e['unsolved'] for e in real)}, hard "
          f"{sum(e['hard'] and not e['unsolved'] for e in real)}) + {len(chat)} synthetic chat; "
          f"test rows {len(splits['test'])} -> {len(test_all)} after removing train overlap")

    X = design(rows)
    y = np.array([e["hard"] for e in rows], dtype=np.float64)
    sw = np.array([UNSOLVED_WEIGHT if e["unsolved"] else 1.0 for e in rows])
    n_real = len(real)

    # 5-fold cross-validation over the real rows (synthetic rows are in every training fold): out-of-fold p(hard)
    # for the CV metrics, the train-side routing table and the threshold choice.
    folds = np.concatenate([fold_ids(real), np.full(len(chat), -1)])
    oof = np.zeros(n_real)
    for k in range(FOLDS):
        tr, va = folds != k, folds == k
        w, b = train_logreg(X.subset(tr), y[tr], sw[tr], l2=args.l2)
        oof[va[:n_real]] = predict(X.subset(va), w, b)
    solved = np.array([not e["unsolved"] for e in real])
    y_real = y[:n_real]
    cv_auc = auc(y_real[solved], oof[solved])
    cv_acc = float(((oof[solved] >= 0.5) == (y_real[solved] == 1)).mean())
    print(f"CV (train, {FOLDS} folds, solved prompts): AUC {cv_auc:.4f}  accuracy {cv_acc:.4f}  "
          f"(majority {1 - y_real[solved].mean():.4f})")
    for d in sorted({e["domain"] for e in real}):
        m = np.array([e["domain"] == d for e in real]) & solved
        print(f"   {d:10s} n={m.sum():5d} hard={y_real[m].mean():.2f} AUC {auc(y_real[m], oof[m]):.3f}")
    if args.cv_only:
        return

    simple_below = pick_simple_below(y_real[solved], oof[solved])
    reasoning_above = max(pick_reasoning_above(y_real[solved], oof[solved]), round(simple_below + 0.01, 2))
    print(f"thresholds (from CV): simple_below {simple_below}  reasoning_above {reasoning_above}")
    grid = sorted({0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, simple_below, reasoning_above})
    cv_rows, cv_summary = routing_table(real, oof, grid)
    print_routing("CV out-of-fold, train", cv_rows, cv_summary)

    w, b = train_logreg(X, y, sw, l2=args.l2)
    weights = [round(float(v), 4) for v in w]
    weights = [0.0 if v == 0 else v for v in weights]  # no "-0.0"
    bias = round(float(b), 4)

    if args.check_sklearn:
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression(C=1.0 / args.l2, max_iter=5000, tol=1e-8)
        clf.fit(X.dense(), y, sample_weight=sw)
        diff = np.abs(clf.coef_[0] - w).max()
        print(f"sklearn cross-check: max |w - w_sklearn| = {diff:.2e}, bias {clf.intercept_[0]:.4f} vs {b:.4f}")

    # Held-out test, scored with the rounded weights that ship.
    wr = np.array(weights)
    pt = predict(design(test_all), wr, bias)
    t_solved = np.array([not e["unsolved"] for e in test_all])
    yt = np.array([e["hard"] for e in test_all])
    test_auc = auc(yt[t_solved], pt[t_solved])
    test_acc = float(((pt[t_solved] >= 0.5) == (yt[t_solved] == 1)).mean())
    base_acc = float(max(yt[t_solved].mean(), 1 - yt[t_solved].mean()))
    print(f"TEST (solved prompts, n={t_solved.sum()}): AUC {test_auc:.4f}  accuracy {test_acc:.4f} "
          f"(majority {base_acc:.4f})")
    per_domain = {}
    for d in sorted({e["domain"] for e in test_all}):
        m = np.array([e["domain"] == d for e in test_all]) & t_solved
        per_domain[d] = {"n": int(m.sum()), "hard_rate": round(float(yt[m].mean()), 3),
                         "mean_p": round(float(pt[m].mean()), 3), "auc": round(auc(yt[m], pt[m]), 3)}
        print(f"   {d:10s} {per_domain[d]}")
    test_rows, test_summary = routing_table(test_all, pt, grid)
    print_routing("held-out test", test_rows, test_summary)

    def tiers(p):
        return {"simple": round(float((p < simple_below).mean()), 4),
                "general": round(float(((p >= simple_below) & (p <= reasoning_above)).mean()), 4),
                "reasoning": round(float((p > reasoning_above).mean()), 4)}

    def hard_rates(yv, p):
        lo, hi = p < simple_below, p > reasoning_above
        return {"simple": round(float(yv[lo].mean()), 4) if lo.any() else None,
                "reasoning": round(float(yv[hi].mean()), 4) if hi.any() else None}

    print(f"   tier shares: CV {tiers(oof)}  test {tiers(pt)}")
    print(f"   hard rate (solved prompts) in tier: CV {hard_rates(y_real[solved], oof[solved])}  "
          f"test {hard_rates(yt[t_solved], pt[t_solved])}")

    parity = {}
    for text in PARITY_STRINGS:
        a = probability_reference(text, weights, bias)
        c = probability_streaming(text, weights, bias)
        assert abs(a - c) < 1e-12, (text, a, c)
        parity[text] = round(a, 12)
        print(f"   parity p(hard) = {a:.10f}  {text!r}")
    # The two featurizers must agree on real prompts too, and across the 8 KB cap.
    probes = [e["text"] for e in test_all[:150]] + ["Ab" * 5000, "x " * 4100 + "{ THEOREM", "\u00e9" * 3000 + "```def "]
    for text in probes:
        assert abs(probability_reference(text, weights, bias) - probability_streaming(text, weights, bias)) < 1e-12

    readme = open(os.path.join(args.data_dir, "README.md"), encoding="utf-8").read()
    m = re.search(r"Commit: `([0-9a-f]{40})`", readme)
    commit = m.group(1) if m else UPSTREAM_COMMIT_FALLBACK

    def sha(rel):
        with open(os.path.join(args.data_dir, "data", rel), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def at(rows_, t):
        return next(r for r in rows_ if r["threshold"] == round(t, 4))

    model = {
        "format": "gaterouter-difficulty-logreg",
        "version": 1,
        "features": FEATURES_SPEC,
        "buckets": BUCKETS,
        "cap_head_bytes": CAP_HEAD,
        "cap_tail_bytes": CAP_TAIL,
        "dense_features": DENSE_NAMES,
        "label": (f"hard = at most {HARD_MAX_SMALL_SOLVERS} of the six 7-9B models score >= 0.5 on the prompt; prompts "
                  "no model solves are left out of training; plus synthetic short chat turns labelled easy"),
        "simple_below": simple_below,
        "reasoning_above": reasoning_above,
        "thresholds": (f"from 5-fold out-of-fold p(hard) on train: simple_below = largest t with hard rate <= "
                       f"{SIMPLE_MAX_HARD_RATE} below it; reasoning_above = smallest t with hard rate >= "
                       f"{REASONING_MIN_PRECISION} at or above it"),
        "bias": bias,
        "weights": weights,
        "metrics": {
            "cv_train": {"auc": round(cv_auc, 4), "accuracy": round(cv_acc, 4), "n_solved": int(solved.sum()),
                         "tier_share": tiers(oof), "tier_hard_rate": hard_rates(y_real[solved], oof[solved]),
                         "routing": {**cv_summary, "at_simple_below": at(cv_rows, simple_below),
                                     "at_reasoning_above": at(cv_rows, reasoning_above)}},
            "test": {"auc": round(test_auc, 4), "accuracy": round(test_acc, 4), "majority_accuracy": round(base_acc, 4),
                     "n_solved": int(t_solved.sum()), "per_domain": per_domain,
                     "tier_share": tiers(pt), "tier_hard_rate": hard_rates(yt[t_solved], pt[t_solved]),
                     "routing": {**test_summary, "at_simple_below": at(test_rows, simple_below),
                                 "at_reasoning_above": at(test_rows, reasoning_above)}},
        },
        "parity": parity,
        "data": {
            "source": "https://github.com/ulab-uiuc/LLMRouter (MIT, Copyright (c) 2024 U Lab @UIUC), routing-train",
            "commit": commit,
            "train_sha256": sha("dcrouter_preprocessed/train.json"),
            "test_sha256": sha("dcrouter_preprocessed/test.json"),
            "test_rows_dropped_as_in_train": len(splits["test"]) - len(test_all),
            "synthetic_chat_rows": len(chat),
        },
        "training": {"l2": args.l2, "iterations": ITERATIONS, "script": "scripts/train_difficulty_classifier.py"},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    text = json.dumps(model, indent=1, ensure_ascii=False)
    # The weight array on one line keeps the file small.
    text = re.sub(r'"weights": \[\n([^\]]*)\]',
                  lambda mm: '"weights": [' + ",".join(x.strip() for x in mm.group(1).split(",\n")) + "]", text)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    sys.exit(main())

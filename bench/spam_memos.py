"""How much memory the spam engine's memos hold once a server has seen many distinct words.

Usage: python bench/spam_memos.py [--texts 20000] [--vocabulary 400000]

The text features keep bounded memos of pure functions (a word's ids, a key's hash, a word folded, a
bigram's label). A server that reads comments in many languages and on many topics fills them; this
feeds ``features.extract`` texts of 40 words drawn from a random vocabulary (no word repeats often, the
worst case) and reports what ``tracemalloc`` finds retained afterwards, with each memo's fill. Run against
another checkout with ``PYTHONPATH=THAT_CHECKOUT`` from outside this one.
"""

from __future__ import annotations

import argparse
import gc
import random
import string
import tracemalloc

from rejoinder.spam import features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--vocabulary", type=int, default=400_000)
    args = parser.parse_args()
    rng = random.Random(1)
    letters = string.ascii_lowercase
    vocabulary = [
        "".join(rng.choice(letters) for _ in range(rng.randint(3, 12))) for _ in range(args.vocabulary)
    ]
    texts = [" ".join(rng.choice(vocabulary) for _ in range(40)) for _ in range(args.texts)]
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    for text in texts:
        features.extract(text)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    print(f"{features.__file__}: {args.texts} texts, retained {(after - before) / 1e6:.1f} MB")
    for name in dir(features):
        info = getattr(getattr(features, name), "cache_info", None)
        if info is not None:
            print(f"  {name}: {info().currsize} of {info().maxsize}")


if __name__ == "__main__":
    main()

"bench/noise_rates.py: each estimator's per-class rates on labels whose noise is known exactly"
import sys
from pathlib import Path
import numpy as np
import fastcore.test as ft

sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'bench'))
import noise_rates as nr

def _noisy(rates=(0.1, 0.3, 0.5), n=400, seed=0):
    "Given labels with exactly `rates[k]` of class k's images from another true class, and probabilities"
    rng, c = np.random.default_rng(seed), len(rates)
    given = np.repeat(np.arange(c), n)
    y_true = given.copy()
    for k, r in enumerate(rates):
        wrong = rng.choice(np.flatnonzero(given == k), int(r * n), replace=False)
        y_true[wrong] = (k + 1 + rng.integers(0, c - 1, len(wrong))) % c
    probs = np.full((len(given), c), 0.05 / (c - 1)) # a sure model of the true class: 0.95
    probs[np.arange(len(given)), y_true] = 0.95
    return given, y_true, probs

def test_estimators_recover_known_rates():
    given, y_true, probs = _noisy()
    ft.test_close(nr.true_rates(given, y_true, 3), [0.1, 0.3, 0.5], eps=1e-9)
    for name, f in nr.ESTIMATORS.items(): # every image is confidently its true class: exact for all
        ft.test_close(f(given, probs), [0.1, 0.3, 0.5], eps=0.01)

def test_confident_joint_counts_unsure_images_as_clean():
    given, y_true, probs = _noisy(rates=(0.2, 0.2, 0.2))
    probs[:100] = 1 / 3 # 100 of class 0's images: no class is confident (all below its threshold)
    unsure_noisy = (y_true[:100] != 0).sum()
    ft.test_close(nr.confident_joint_rates(given, probs)[0], (80 - unsure_noisy) / 400, eps=1e-9)
    ft.test_eq(nr.cleanlab_joint_rates(given, probs)[0] > nr.confident_joint_rates(given, probs)[0], True)

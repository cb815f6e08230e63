"bench/time_to_accuracy.py: what a target's time counts (the clock read at each step of an epoch's end)"
import sys
from pathlib import Path
from types import SimpleNamespace
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import time_to_accuracy as bench

def test_a_flip_tta_time_counts_its_own_evaluation_not_the_plain_one(monkeypatch):
    clock = iter([100., 110., 112., 115.]) # start; epoch trained; plain evaluation done; flip TTA done
    accs = iter([0.91, 0.935]) # plain, then flip TTA
    monkeypatch.setattr(bench, 'accuracy_tta', lambda *a, **kw: next(accs))
    cb = bench.TimeToAccuracy(test_dl=None, device=None, verbose=False)
    monkeypatch.setattr(cb, '_now', lambda: next(clock))
    loss = SimpleNamespace(smooth_loss=SimpleNamespace(value=1.))
    cb.learn = SimpleNamespace(model=None, epoch=0, recorder=loss)
    cb.before_fit(); cb.after_train()
    row = cb.rows[0]
    assert (row['train_s'], row['s_plain'], row['s_tta'], row['eval_s']) == (10., 12., 13., 5.)
    assert cb.reached['plain', 0.90]['seconds'] == 12. and cb.reached['tta', 0.934]['seconds'] == 13.
    assert ('plain', 0.934) not in cb.reached

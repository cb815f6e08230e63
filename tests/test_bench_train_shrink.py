"bench/train_shrink.py end to end (--smoke): one real Imagenette run per checkout, scored on the test images"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import train_shrink as bench

@pytest.mark.slow
def test_both_checkouts_train_the_same_cell(archive):
    rows = bench.main(['--smoke', '--before', 'HEAD']) # the committed tree on both sides: the same numbers
    assert [(r['augment'], r['seed']) for r in rows] == [('flip', 1), ('flip', 'mean')], rows
    assert rows[0]['before_test_acc'] == rows[0]['after_test_acc'], rows # same code, seed and threads
    assert rows[1]['after_test_acc'] == rows[0]['after_test_acc'] # the mean of one seed
    assert rows[0]['before_seconds'] > 0 and rows[0]['after_seconds'] > 0

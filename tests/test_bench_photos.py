"bench/photos.py end to end (small photos): the same folder run by the commit before and by this checkout"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import photos as bench

@pytest.mark.slow
def test_before_decodes_at_the_median_size_after_at_twice_the_training_size(archive):
    rows = bench.main(['--smoke', '--photos', '12', '--size', '32', '--epochs', '1'])
    assert [r['side'] for r in rows] == ['before (2e8a341)', 'after']
    # 400x300 photos trained at 32 px: before at their own size, now with a short side of 2 x 32
    assert [r['decoded_at'] for r in rows] == ['the median size', '85x64'], rows
    assert all(r['wall_s'] > r['train_s'] >= 0 and r['peak_gib'] > 0 for r in rows), rows

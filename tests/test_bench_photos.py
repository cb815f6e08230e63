"bench/photos.py end to end (small photos): one folder run by a commit's files and by this checkout"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import photos as bench

@pytest.mark.slow
def test_both_sides_run_and_decode_at_twice_the_training_size(archive):
    "HEAD as the commit before (a shallow clone has no older one): both sides decode alike"
    rows = bench.main(['--smoke', '--photos', '12', '--size', '32', '--epochs', '1', '--before', 'HEAD'])
    assert [r['side'] for r in rows] == ['before (HEAD)', 'after']
    # 400x300 photos trained at 32 px: a short side of 2 x 32 (before 2026-11-30: 'the median size')
    assert [r['decoded_at'] for r in rows] == ['85x64', '85x64'], rows
    assert all(r['wall_s'] > r['train_s'] >= 0 and r['peak_gib'] > 0 for r in rows), rows

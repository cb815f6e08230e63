"bench/larger_than_memory.py end to end (small photos): in memory, from the cache file, and a commit's files"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import larger_than_memory as bench

@pytest.mark.slow
def test_the_cache_file_side_trains_as_the_in_memory_one_with_the_audit_and_robustness(archive):
    "HEAD as the earlier commit (a shallow clone has no older one): it takes the cache file too"
    # one call with --audit: the bench's plain runs are these runs less three config sections (one call
    # instead of two saves 3 runs, about 80 s of CI's slow tier)
    rows = bench.main(['--smoke', '--photos', '30', '--size', '32', '--epochs', '1', '--before', 'HEAD',
                       '--audit']) # 15 train images: more than audit.k
    assert [r['side'][:9] for r in rows] == ['in memory', 'cache fil', 'HEAD (1-b'], rows
    assert rows[0]['placed'] == '(nothing said)', rows
    placed = rows[1]['placed']
    assert placed.startswith('the decoded images (') and 'do not fit in memory' in placed, rows
    assert rows[1]['test_acc'] == rows[0]['test_acc'], rows # the same batches: the same model
    assert all(r['first_s'] > 0 and r['wall_s'] > r['train_s'] > 0 and r['peak_gib'] > 0 for r in rows), rows

"bench/robustness_speed.py end to end (small photos): the robustness stage of a commit and of this one"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import robustness_speed as bench

@pytest.mark.slow
def test_both_sides_score_the_same_perturbed_images(archive):
    "HEAD as the commit before (a shallow clone has no older one): the same robustness table on both sides"
    out = bench.main(['--smoke', '--photos', '40', '--before', 'HEAD', '--audit'])
    rows, blur, tables = out['rows'], out['blur'], out['tables']
    assert [r['side'] for r in rows] == ['HEAD', 'this checkout']
    # 30 % of 40 photos are test images, all perturbed: 6 kinds x 5 severities and the clean row
    assert [r['images'] for r in rows] == [12, 12] and len(tables) == 31, (rows, len(tables))
    assert all(r['wall_s'] > r['robustness_s'] > 0 and r['anon_gib'] > 0.1 for r in rows), rows
    assert (tables.before == tables.now).all() and (tables.right_gap == 0).all()
    # the blur alone: the kernel grows with the severity; the matrix products make torchvision's blur
    assert [b['kernel'] for b in blur] == [7, 13, 25], blur
    assert all(b['max_diff'] < 1e-5 and b['u8_differ'] < 1e-3 for b in blur), blur
    # --audit: the clean and audit stages too, every pixel check run, the same images flagged on both sides
    assert all(r['audit_s'] > 0 for r in rows) and rows[0]['flags'] == rows[1]['flags'], rows
    assert list(rows[1]['flags']) == ['label', 'outlier', 'atypical', 'near_duplicate', 'dark', 'blurry',
                                      'low_information', 'grayscale', 'odd_size', 'train_test_leak'], rows

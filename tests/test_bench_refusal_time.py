"bench/refusal_time.py end to end: real HEIC photos, each config mistake refused by 2 checkouts' processes"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import refusal_time as bench

@pytest.mark.slow
def test_each_mistake_refused_and_timed_on_both_sides():
    rows = bench.main(['--smoke', '--photos', '4', '--before', 'HEAD']) # the committed tree as the baseline
    got = {(r['mistake'], r['side'].split()[0]): r for r in rows}
    assert set(got) == {(m, s) for m in bench.MISTAKES for s in ('before', 'after')}, sorted(got)
    said = {'arch typo': "'resnet5o' is neither", 'pretrained offline': 'not in the local cache',
            'run folder exists': 'already exists', 'batch splits badly': 'the batch size 33',
            'config check: no such perturbation': "'evaluate.kinds' in", # the line is cut at 110 characters
            'key typo': "unknown key 'trian'", 'audit: key typo': "unknown key 'trian'"}
    for m, needle in said.items(): # this checkout says each mistake, in a process of its own
        assert needle in got[(m, 'after')]['error'], got[(m, 'after')]
        assert got[(m, 'after')]['seconds'] > 0

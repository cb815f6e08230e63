"bench/predict_speed.py end to end: a real run, then its model predicts the same JPEG files both ways"
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import predict_speed as bench

@pytest.mark.slow
def test_both_ways_predict_the_same_classes(tmp_path, archive):
    out = tmp_path/'speed.md'
    bench.main(['--n', '300', '--repeats', '2', '--out', str(out)])
    res = json.loads(out.with_suffix('.json').read_text())['results']
    assert [r['way'] for r in res['rows']] == ['noisyfast predict_files', 'fastai test_dl + get_preds']
    assert all(r['lo'] <= r['median'] <= r['hi'] and r['ips'] > 0 for r in res['rows'])
    # the same pixels (32 px JPEGs: fastai's Resize(32) changes nothing) through the same network
    assert res['agreement'] > 0.98, res
    assert '300 CIFAR-10 test JPEG files' in out.read_text()

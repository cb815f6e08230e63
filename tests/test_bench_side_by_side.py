"bench/side_by_side.py end to end: real runs alone and started together, one OpenMP setting"
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import side_by_side as bench

@pytest.mark.slow
def test_runs_alone_and_together_are_timed(tmp_path):
    out = tmp_path/'side.md'
    bench.main(['--settings', '1thread', '--epochs', '1', '--repeats', '1', '--out', str(out)])
    res = json.loads(out.with_suffix('.json').read_text())
    raw, row = res['results']['raw']['1thread'], res['results']['rows'][0]
    assert len(raw['alone']) == 1 and len(raw['side_by_side']) == 2 # one run alone, then 2 at once
    assert row['env'] == 'OMP_NUM_THREADS=1' and row['alone'] == raw['alone'][0]
    assert row['slowdown'] == pytest.approx(sum(raw['side_by_side']) / 2 / raw['alone'][0]) # median of 2
    assert 'a 1-epoch train stage only' in out.read_text() and res['machine']['cores'] > 0

def test_each_setting_sets_its_thread_variables_and_no_others(monkeypatch):
    monkeypatch.setenv('OMP_WAIT_POLICY', 'PASSIVE'); monkeypatch.setenv('OMP_NUM_THREADS', '2') # the caller's
    default, one = bench.setting_env(bench.SETTINGS['default']), bench.setting_env(bench.SETTINGS['1thread'])
    assert 'OMP_WAIT_POLICY' not in default and 'OMP_NUM_THREADS' not in default # OpenMP's own default
    assert one['OMP_NUM_THREADS'] == '1' and 'OMP_WAIT_POLICY' not in one
    assert bench.setting_env(bench.SETTINGS['passive'])['OMP_WAIT_POLICY'] == 'PASSIVE'

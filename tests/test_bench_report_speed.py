"bench/report_speed.py end to end: a real quickstart run, its report timed in fresh processes of 2 checkouts"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import report_speed as bench

@pytest.mark.slow
def test_report_timed_plot_by_plot_against_a_baseline():
    rows = bench.main(['--smoke', '--baseline', str(ROOT)]) # this checkout as its own baseline: both paths
    got = {r['what']: r for r in rows}
    # every gallery of a quickstart run (clean and audit stages) is drawn and timed, by both checkouts
    assert {'write_report, cold', 'write_report, warm', 'plot_flagged (warm)', 'plot_gallery (warm)',
            'plot_pairs (warm)', 'plot_perturbations (warm)'} <= set(got), got
    for who in ('this checkout', 'baseline'): # the plots are part of the report's time
        plots = sum(r[who + ' median'] for w, r in got.items() if w.startswith('plot_'))
        assert 0 < plots < got['write_report, warm'][who + ' median'], (who, plots, got)
    cmp = got['noisyfast report A B (a fresh process)'] # the comparison command, timed by both checkouts
    assert cmp['this checkout median'] > 0 and cmp['baseline median'] > 0, cmp
    r = got['plot_flagged (warm)'] # the same code both sides: a ratio of the two medians
    assert abs(r['ratio'] - r['this checkout median'] / r['baseline median']) < 1e-9 and r['ratio'] > 0

def test_a_baseline_that_is_not_a_checkout_is_refused(tmp_path):
    with pytest.raises(SystemExit, match='no noisyfast/report.py there'):
        bench.main(['--baseline', str(tmp_path)])

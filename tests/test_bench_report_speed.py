"bench/report_speed.py end to end: a real quickstart run, its report timed in fresh processes of two checkouts"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import report_speed as bench

@pytest.mark.slow
def test_report_timed_plot_by_plot_against_a_baseline():
    rows = bench.main(['--smoke', '--baseline', str(ROOT)]) # this checkout as its own baseline: both paths
    got = {(r['what'], r['who']) for r in rows}
    for who in ('this checkout', 'baseline'):
        # every gallery of a quickstart run (clean and audit stages) is drawn and timed
        assert {('write_report, cold', who), ('plot_flagged (warm)', who), ('plot_gallery (warm)', who),
                ('plot_pairs (warm)', who), ('plot_perturbations (warm)', who)} <= got, got
    tot = {(r['what'], r['who']): r['median'] for r in rows}
    for who in ('this checkout', 'baseline'): # the plots are part of the report's time
        plots = sum(v for (w, c), v in tot.items() if c == who and w.startswith('plot_'))
        assert 0 < plots < tot['write_report, warm', who], (who, plots, tot)

def test_a_baseline_that_is_not_a_checkout_is_refused(tmp_path):
    with pytest.raises(SystemExit, match='no noisyfast/report.py there'):
        bench.main(['--baseline', str(tmp_path)])

"`noisyfast grid`: a run per combination, results.csv / results.md / accuracy_vs_noise.png; resuming a sweep"
import os, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest, yaml
from noisyfast.runs import RunFolder

EXE = Path(sys.executable).parent/'noisyfast'
ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
RATES = (0.2, 0.6)

def grid(cfg, *args):
    sets = ['--set', 'noise.rate=' + ','.join(map(str, RATES))]
    r = subprocess.run([str(EXE), 'grid', str(cfg), *sets, *args], capture_output=True, text=True, env=ENV,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout

@pytest.fixture(scope='module')
def sweep(tmp_path_factory):
    "A two-run sweep over the noise rate on digits (baseline + final stage), run once for the module"
    tmp = tmp_path_factory.mktemp('grid')
    cfg = tmp/'sweep.yaml'
    cfg.write_text(yaml.safe_dump(dict(
        name='sweep', output_dir=str(tmp), seed=0, data=dict(name='digits', max_train=400),
        noise=dict(kind='symmetric', rate=0.2), model=dict(arch='test_resnet'),
        train=dict(stages=[dict(size=16, epochs=2, lr=0.01)], bs=64, augment='shift'),
        final=dict(enabled=True), evaluate=dict(robustness=False))))
    return cfg, tmp/'sweep-grid', grid(cfg, '--no-report') # results.md compares them: no report per run

def test_grid_writes_one_run_per_combination(sweep):
    cfg, gdir, out = sweep
    res = pd.read_csv(gdir/'results.csv')
    assert sorted(res['noise.rate']) == list(RATES)
    assert sorted(res.run) == ['sweep_rate-0.2', 'sweep_rate-0.6']
    for run, rate in zip(res.run, res['noise.rate']):
        rf = RunFolder(gdir/run)
        assert rf.has('test_probs', 'final') and rf.has('test_probs', 'train')
        # each run was trained with its own noise rate: the run's saved config and its realized noise say so
        assert rf.read('config')['noise']['rate'] == rate
        truth = rf.read('predictions')
        acc = (truth.label == truth.predicted).mean() # the table's number is the run's own test accuracy
        assert abs(res.set_index('run').loc[run, 'test_acc'] - acc) < 1e-9
        assert not rf.has('report') and not rf.file('plots').exists() # --no-report
        assert f'report: not written (asked not to): `noisyfast report {rf.path}` writes it' in out, out
    md = (gdir/'results.md').read_text()
    assert '![test accuracy vs label noise](accuracy_vs_noise.png)' in md
    assert (gdir/'accuracy_vs_noise.png').stat().st_size > 10_000
    for rate in RATES: assert f'\n| {rate} |' in md

def test_grid_resumes_finished_runs_without_training_again(sweep):
    cfg, gdir, _ = sweep
    weights = sorted(gdir.rglob('*.pth'))
    before = {p: p.stat().st_mtime_ns for p in weights}
    out = grid(cfg) # the same sweep again: every run is finished, nothing trains
    assert weights and {p: p.stat().st_mtime_ns for p in sorted(gdir.rglob('*.pth'))} == before
    assert ' train: ' not in out and ' final: ' not in out
    assert len(pd.read_csv(gdir/'results.csv')) == len(RATES)
    for run in pd.read_csv(gdir/'results.csv').run: # without --no-report this time: each run's report
        assert f"**{RunFolder(gdir/run).read('metrics')['final']['test_accuracy']:.4f}**" in \
            RunFolder(gdir/run).read('report')

"bench/accuracy.py --smoke end to end on CPU: every row and method column, and every cell a real run"
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import accuracy as bench

@pytest.mark.slow
def test_smoke_runs_every_cell(tmp_path, archive):
    out, runs = tmp_path/'smoke-accuracy.md', tmp_path/'runs'
    p = subprocess.run([sys.executable, str(ROOT/'bench'/'accuracy.py'), '--smoke', '--out', str(out),
                        '--runs', str(runs)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = json.loads(out.with_suffix('.json').read_text())
    assert res['settings']['complete'] and res['settings']['smoke']
    md = out.read_text()
    acc = md.split('## Test accuracy of the last stage')[1].split('\n## ')[0]
    header = next(l for l in acc.splitlines() if l.startswith('| row'))
    assert [c.strip() for c in header.strip('|').split('|')] == ['row', *bench.METHODS]
    rows = bench.GPU_ROWS
    for r in rows.values(): assert sum(l.startswith(f"| {r['title']} |") for l in acc.splitlines()) == 1, r
    divide = bench.divide_known()
    cells = {(c['row'], c['method']): c for c in res['results']}
    want = {(k, m) for k, r in rows.items() for m in r['methods']}
    assert set(cells) == want
    for (k, m), c in cells.items():
        if m == 'divide' and not divide:
            assert c['na'] == bench.NA_DIVIDE and bench.NA_DIVIDE in acc; continue
        assert 'error' not in c, c
        metrics = json.loads((Path(c['run'])/'metrics.json').read_text())
        assert Path(c['run']).parent == runs.resolve()
        stage, m_last = bench.last_stage(metrics)
        assert c['test_accuracy'] == m_last['test_accuracy'] and c['stage'] == stage
        # the stages each method is meant to run
        want_stage = dict(ce='train', robust='train', ceiling='train', prune='final', pseudo='pseudo')
        if m in want_stage: assert stage == want_stage[m], (k, m, stage)
        if m == 'prune': assert 'detection' in metrics['clean'] or k.startswith('cifar10-4000'), (k, metrics)
        assert not (Path(c['run'])/'report.md').exists() # no report per cell without --reports
    # a cell is read back, not run again, when its run folder holds a finished run of its config
    cfg, _ = bench.cell_config('cifar10n-worst', bench.scale_rows('gpu', True)['cifar10n-worst'], 'ce',
                               runs.resolve())
    assert bench.finished(cfg)
    mf = Path(cells[('cifar10n-worst', 'ce')]['run'])/'metrics.json'
    m = json.loads(mf.read_text()); del m['total_seconds'] # as a run killed before its end leaves it
    mf.write_text(json.dumps(m))
    assert not bench.finished(cfg)
    ovr = lambda k, m: cells[(k, m)]['overrides']
    assert 'train.loss=gce' in ovr('cifar10-sym50', 'robust')
    assert 'noise.kind=none' in ovr('cifar10-sym50', 'ceiling')

def test_fold_source_takes_the_fold_files_whose_fingerprint_fits(tmp_path, monkeypatch):
    "A divide variant starts from the prune cell's fold files, or from a divide cell's when only theirs fit"
    from types import SimpleNamespace
    def oof(cell, fp):
        d = tmp_path/cell/'clean'/'oof'; d.mkdir(parents=True); (d/'fingerprint.txt').write_text(fp + '\n')
        return d
    prune, plain, adaptive = oof('r-prune', 'old'), oof('r-divide', 'old'), oof('r-divide-adaptive', 'new')
    mine = oof('r-divide-a-kw', 'new') # the cell's own (sorted first), prepared afresh: never its source
    cfg = SimpleNamespace(output_dir=str(tmp_path), name='r-divide-a-kw')
    monkeypatch.setattr(bench, 'cell_fingerprint', lambda cfg: 'new')
    assert bench.fold_source(cfg, 'r') == adaptive
    (prune/'fingerprint.txt').write_text('new\n')
    assert bench.fold_source(cfg, 'r') == prune # the prune cell's first, when they fit
    monkeypatch.setattr(bench, 'cell_fingerprint', lambda cfg: 'other')
    assert bench.fold_source(cfg, 'r') == prune # none fits: the prune cell's (the clean stage recomputes)
    assert bench.fold_source(cfg, 'nothing') is None and mine.is_dir() and plain.is_dir()

def test_fold_source_looks_in_tagged_prune_cells(tmp_path, monkeypatch):
    "A tagged divide cell (`--tag 10ep`) finds the fold files of the prune cell run with a tag"
    from types import SimpleNamespace
    def oof(cell, fp):
        d = tmp_path/cell/'clean'/'oof'; d.mkdir(parents=True); (d/'fingerprint.txt').write_text(fp + '\n')
        return d
    prune, tagged = oof('r-prune', '5ep'), oof('r-prune-10ep', '10ep')
    oof('r-prune-3ep', '3ep'); oof('q-prune-10ep', '10ep') # another tag; another row's tagged prune cell
    cfg = SimpleNamespace(output_dir=str(tmp_path), name='r-divide-10ep-adaptive')
    monkeypatch.setattr(bench, 'cell_fingerprint', lambda cfg: '10ep')
    assert bench.fold_source(cfg, 'r') == tagged
    (prune/'fingerprint.txt').write_text('10ep\n')
    assert bench.fold_source(cfg, 'r') == prune # the untagged prune cell's first, when both fit
    monkeypatch.setattr(bench, 'cell_fingerprint', lambda cfg: 'other')
    assert bench.fold_source(cfg, 'r') == prune # none fits: the untagged prune cell's (the stage recomputes)
    assert bench.fold_source(cfg, 'q') == tmp_path/'q-prune-10ep'/'clean'/'oof' # only a tagged one: that

def test_chart_draws_each_cell_at_its_accuracy(tmp_path):
    "One marker per finished cell at (its accuracy, its row); a method with no finished cell is left out"
    rows = {'a': dict(title='row A'), 'b': dict(title='row B')}
    cells = [dict(row='a', method='ce', test_accuracy=0.5), dict(row='a', method='ceiling', test_accuracy=0.9),
             dict(row='b', method='ce', test_accuracy=0.25), dict(row='b', method='ceiling', test_accuracy=0.8),
             dict(row='b', method='divide', na='not run')]
    fig = bench.chart(cells, rows, ['ce', 'divide', 'ceiling'], tmp_path/'c.png')
    assert (tmp_path/'c.png').stat().st_size > 1000
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ['ce', 'ceiling']
    pts = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert pts == {'ce': [[50, 0], [25, 1]], 'ceiling': [[90, 0], [80, 1]]}
    assert [t.get_text() for t in ax.get_yticklabels()] == ['row A', 'row B']
    assert ax.get_ylim()[0] > ax.get_ylim()[1] # the first row on top

def test_chart_again_from_a_results_json(tmp_path):
    "--chart redraws a results file's chart from its .json: the row titles of its scale, its methods in order"
    res = tmp_path/'r.json'
    cells = [dict(row='fmnist-sym80', method='divide', test_accuracy=0.7),
             dict(row='fmnist-sym80', method='ce', test_accuracy=0.6),
             dict(row='cifar10n-worst', method='ce', na='not run')]
    rows = {'fmnist-sym80': {}, 'cifar10n-worst': {}}
    res.write_text(json.dumps(dict(settings=dict(scale='cpu', smoke=False, rows=rows), results=cells)))
    bench.main(['--chart', str(res)])
    assert (tmp_path/'r.png').stat().st_size > 1000
    ax = bench.chart_again(res).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ['ce', 'divide']
    assert [t.get_text() for t in ax.get_yticklabels()] == [bench.CPU_ROWS[k]['title'] for k in rows]
    assert {c.get_label(): c.get_offsets().tolist() for c in ax.collections} == {'ce': [[60, 0]],
                                                                                 'divide': [[70, 0]]}

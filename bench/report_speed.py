"""How long a run's report takes to write, plot by plot, against another noisyfast checkout in the same run.

`write_report` is what every `noisyfast run` ends with (and `noisyfast report`). This times it on one run
folder, in fresh processes (as a run pays it: the first report of a process, `cold`; and a second one in the
same process, `warm`), with the time of each plot function. Given `--baseline PATH` (another checkout of
noisyfast, e.g. `git worktree add /tmp/before <commit>`), the two are timed alternately, process after
process, so that both see the same load on a shared machine; the table puts them side by side.

The run folder is copied first, so that a user's run is never rewritten. Without `--run`, the quickstart
config trains one into a temporary folder (digits, 40 % noise, clean and audit stages: every gallery).

  python bench/report_speed.py --baseline /tmp/before    # -> results/cpu-report-speed.md (.json)
  python bench/report_speed.py --smoke                   # a quick check of the script itself
"""
from __future__ import annotations
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, git_commit, tree_env, write_results
from noisyfast.report import md_table

# run in a fresh process with the checkout under test first on sys.path: times of write_report and its plots
PROBE = r'''
import json, sys, time, warnings
warnings.simplefilter('ignore')
import noisyfast.report as R, noisyfast.evaluate as E, noisyfast.audit as A
secs, wrapped = {}, {}
def timed(name, f):
    def g(*a, **k):
        t = time.perf_counter()
        try: return f(*a, **k)
        finally: secs[name] = secs.get(name, 0.) + time.perf_counter() - t
    return g
for mod in (E, A, R):
    for name in [n for n in dir(mod) if n.startswith('plot_') and callable(getattr(mod, n))]:
        f = getattr(mod, name)
        setattr(mod, name, wrapped.setdefault(id(f), timed(name, f)))
out = {}
for when in ('cold', 'warm'):
    secs.clear()
    t = time.perf_counter(); R.write_report(sys.argv[1]); total = time.perf_counter() - t
    out[when] = dict(total=total, plots=dict(secs))
out['where'] = R.__file__
print(json.dumps(out))
'''

def compare_seconds(checkout:Path, folders:list) -> float:
    "Seconds of `noisyfast report A B` (the comparison table) of `checkout`'s noisyfast, a fresh process"
    t = time.perf_counter()
    p = subprocess.run([sys.executable, '-m', 'noisyfast', 'report', *map(str, folders)], capture_output=True,
                       text=True, env=tree_env(checkout), cwd=checkout, timeout=600)
    if p.returncode or '2 runs' not in p.stdout:
        raise SystemExit(f'{checkout}: report A B failed:\n{p.stderr[-3000:]}')
    return time.perf_counter() - t

def probe(checkout:Path, folder:Path) -> dict:
    "Time write_report of `checkout`'s noisyfast on `folder` in a fresh process, then `report A B`"
    env = tree_env(checkout)
    p = subprocess.run([sys.executable, '-c', PROBE, str(folder)], capture_output=True, text=True, env=env,
                       cwd=checkout, timeout=600)
    if p.returncode: raise SystemExit(f'the report of {checkout} failed:\n{p.stderr[-3000:]}')
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if not Path(res['where']).resolve().is_relative_to(checkout.resolve()):
        raise SystemExit(f'{checkout}: its noisyfast was not the one imported ({res["where"]})')
    return dict(res, compare=compare_seconds(checkout, [folder, folder]))

def make_run(tmp:Path, smoke:bool) -> Path:
    "A quickstart run folder in `tmp` (smoke: 2 epochs, 2 folds)"
    from noisyfast.config import load_config
    from noisyfast.pipeline import run
    extra = ['train.stages=[{"size": 16, "epochs": 2, "lr": 0.01}]', 'clean.folds=2'] if smoke else []
    cfg = load_config(ROOT/'configs'/'quickstart.yaml', [f'output_dir={tmp}', 'name=report-speed'] + extra)
    run(cfg, progress=False)
    return tmp/'report-speed'

def _times(res:list) -> dict:
    "what -> seconds of each probe: the report cold and warm, each plot function (warm)"
    out = {f'write_report, {w}': [r[w]['total'] for r in res] for w in ('cold', 'warm')}
    if all('compare' in r for r in res): # a results file of an earlier version has no such times
        out['noisyfast report A B (a fresh process)'] = [r['compare'] for r in res]
    for name in sorted({n for r in res for n in r['warm']['plots']}):
        out[f'{name} (warm)'] = [r['warm']['plots'].get(name, 0.) for r in res]
    return out

def rows_of(res:dict) -> list:
    "A row per timed thing: each checkout's median and range, and this checkout's over the baseline's"
    times = {who: _times(r) for who, r in res.items()}
    rows = []
    for what in times['this checkout']:
        row = dict(what=what)
        for who, t in times.items():
            xs = t.get(what, [0.])
            row[who] = f'{cell(statistics.median(xs))} ({cell(min(xs))}-{cell(max(xs))})'
            row[who + ' median'] = statistics.median(xs)
        if 'baseline' in times and row['baseline median'] > 0:
            row['ratio'] = row['this checkout median'] / row['baseline median']
        rows.append(row)
    return rows

COLS = [('what', 'what'), ('this checkout', 'this checkout, s: median (min-max)'),
        ('baseline', 'baseline, s: median (min-max)'), ('ratio', 'this / baseline')]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--run', help='a run folder to report on (default: a quickstart run, trained here)')
    p.add_argument('--baseline', help='another noisyfast checkout, timed alternately in the same run')
    p.add_argument('--repeats', type=int, default=5, help='processes per checkout')
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'cpu-report-speed.md'))
    p.add_argument('--smoke', action='store_true', help='a 2-epoch run, 1 repeat: checks the script only')
    a = p.parse_args(argv)
    base = Path(a.baseline).resolve() if a.baseline else None
    if base is not None and not (base/'noisyfast'/'report.py').is_file():
        raise SystemExit(f'--baseline {a.baseline}: no noisyfast/report.py there; give a noisyfast checkout')
    tmp = Path(tempfile.mkdtemp(prefix='report-speed-'))
    try:
        src = Path(a.run) if a.run else make_run(tmp/'made', a.smoke)
        folder = tmp/'copy'
        shutil.copytree(src, folder)
        who = [('this checkout', ROOT)] + ([('baseline', base)] if base else [])
        res = {label: [] for label, _ in who}
        for _ in range(1 if a.smoke else a.repeats):
            for label, checkout in who: res[label].append(probe(checkout, folder))
        rows = rows_of(res)
        cols = COLS if base else COLS[:2]
        print(md_table(rows, cols, fmt=cell))
        if a.smoke: return rows
        notes = [f'Report of the run folder {src if a.run else "of the quickstart config (trained here)"}, '
                 f'{a.repeats} fresh processes per checkout, alternating: cold = the first report of a '
                 'process (what a run pays), warm = a second one in the same process. '
                 '`noisyfast report A B`: the comparison table of two runs (here the folder twice), the '
                 'whole command in a fresh process, imports included.',
                 "A plot's time includes any full garbage collection of Python that happens to run inside "
                 'it (a process holding torch and fastai keeps ~600,000 objects: ~0.4-1 s a collection on 2 '
                 'vCPUs), which can land in different plots in the two checkouts: compare the totals.',
                 f'This checkout: {ROOT} at {git_commit()}.' + (f' Baseline: {base} at {git_commit(base)}.'
                                                                  if base else '')]
        write_results(Path(a.out).stem, 'How long a run report takes to write', settings=vars(a),
                      sections=[('Times', md_table(rows, cols, fmt=cell))],
                      notes=notes, data=res, folder=Path(a.out).parent)
        return rows
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()

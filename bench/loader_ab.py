"""Before/after speed of the fast loader: `bench/pipeline.py --pipelines fast` on an earlier \
commit and on this
checkout, alternating in pairs so that both see the same machine load, then the medians and their ratio.

    python bench/loader_ab.py                 # 323d557 (before ArrayDL became a fastai TfmdDL) vs now
    python bench/loader_ab.py --before REV --pairs 7 --case resnet18-32

Each side runs its own copy of bench/pipeline.py and its own package (PYTHONPATH), one process per run.
Writes results/cpu-loader-ab.md (.json).
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, tree_env, write_results
from noisyfast.report import md_table

ROOT = Path(__file__).resolve().parent.parent

def checkout(rev:str, dest:Path) -> Path:
    "The files of commit `rev` in `dest` (git archive: no worktree bookkeeping to clean up)"
    dest.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(['git', 'archive', rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', str(dest)], input=tar, check=True)
    return dest

def img_s(tree:Path, case:str, repeats:int, out:Path) -> float:
    "Median img/s of the fast path in one `bench/pipeline.py` process of `tree`"
    env = tree_env(tree)
    cmd = [sys.executable, 'bench/pipeline.py', '--case', case, '--pipelines', 'fast', '--repeats',
           str(repeats), '--threads', '1', '--no-write', '--json', str(out)]
    r = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if r.returncode != 0: raise SystemExit(f'{tree}: bench/pipeline.py failed:\n{r.stderr[-3000:]}')
    return json.loads(out.read_text())['summary']['rows']['fast']['img_s']

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='323d557', help='the commit to compare against')
    p.add_argument('--pairs', type=int, default=5, help='before/after pairs, alternating which goes first')
    p.add_argument('--case', default='test_resnet-32', help='a bench/pipeline.py case')
    p.add_argument('--repeats', type=int, default=2, help='repeats inside each pipeline.py run')
    p.add_argument('--note', default='')
    a = p.parse_args(argv)
    rows, t0 = [], time.time()
    with tempfile.TemporaryDirectory(prefix='noisyfast-ab-') as tmp:
        before = checkout(a.before, Path(tmp)/'before')
        for i in range(a.pairs):
            sides = [('before', before), ('after', ROOT)]
            if i % 2: sides.reverse() # alternate the order: a slow start of the machine hits both
            r = {side: img_s(tree, a.case, a.repeats, Path(tmp)/f'{side}{i}.json') for side, tree in sides}
            rows.append(dict(pair=i + 1, before=r['before'], after=r['after'],
                             ratio=r['after'] / r['before']))
            print(f"pair {i + 1}: before {r['before']:.0f} img/s, after {r['after']:.0f} img/s, "
                  f"after/before {rows[-1]['ratio']:.3f}", flush=True)
    med = {k: statistics.median(r[k] for r in rows) for k in ('before', 'after', 'ratio')}
    rows.append(dict(pair='median', **med))
    shown = [dict(r, ratio=f"{r['ratio']:.3f}") for r in rows] # three decimals: the 5 % question
    table = md_table(shown, ['pair', ('before', f'before ({a.before}) img/s'), ('after', 'after img/s'),
                             ('ratio', 'after / before')], fmt=cell)
    verdict = 'within 5 %' if med['ratio'] >= 0.95 else 'more than 5 % slower'
    notes = [f'fast-path training throughput, {a.case}, CPU, one torch thread: after / before = '
             f"{med['ratio']:.3f} (median of {a.pairs} pair ratios, which range "
             f"{min(r['ratio'] for r in rows):.3f}-{max(r['ratio'] for r in rows):.3f}): {verdict}",
             f'{time.time() - t0:.0f} s in all'] + ([a.note] if a.note else [])
    print(f'\n{table}\n\n' + '\n'.join(notes))
    write_results('cpu-loader-ab', 'Fast loader speed before and after', settings=vars(a),
                  sections=[('Training throughput of the fast path', table)], notes=notes,
                  data=dict(rows=rows))

if __name__ == '__main__': main()

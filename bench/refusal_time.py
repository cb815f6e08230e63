"""How long a config mistake waits to be said on the first run of a folder of phone photos: an earlier commit
against this checkout.

Before 2026-11-30 (session 20) `noisyfast run` read the data first (checking every photo: about a second of
one core for a 12 MP iPhone HEIC), then refused what the config alone shows: an arch that does not exist, a
pretrained arch whose weights cannot be had offline, a run folder that is already there, a batch that does not
split over `--processes` (said by each process after torchrun started them). Now `check_plan` and
`RunFolder.check_start` say those before any photo is read, and the launcher says the batch before it starts
the processes. `noisyfast config check` (the command people run while they edit a YAML file) no longer imports
torch and fastai to check the perturbation names. Since 2026-12-02 `run` and `audit` read the config before
importing torch and fastai: a key typo no longer waits for the imports; `grid` reads every combination of its
`--set` values before it imports them too (a later commit of the same day).

    python bench/refusal_time.py                       # 083e431 (before) vs this checkout, 30 HEIC photos
    python bench/refusal_time.py --smoke --photos 6    # a quick check of the script itself
    python bench/refusal_time.py --before db4d10d --only 'key typo' 'audit: key typo'   # some of the mistakes
    python bench/refusal_time.py --before 2710adb --only 'grid: --set typo' --photos 6 --repeats 3

Each mistake runs `python -m noisyfast run` (or `config check`) in a fresh process of each side (its own
package on PYTHONPATH, its own empty cache folder: a first run), alternating which side goes first. Writes
results/cpu-refusal-time.md (.json).
"""
from __future__ import annotations
import argparse, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import runs_results, tree_env
from loader_ab import checkout
from photos import make_photos
from rerun_photos import as_heic

ROOT = Path(__file__).resolve().parent.parent
MISTAKES = {'arch typo': ['run', 'model.arch=resnet5o'], # the command, then what follows the config file
            'pretrained offline': ['run', 'model.arch=resnet18', 'model.pretrained=true'],
            'run folder exists': ['run'],
            'batch splits badly': ['run', 'train.bs=33', '--processes', '2'],
            'config check: no such perturbation': ['config check', 'evaluate.kinds=[fog]'],
            'key typo': ['run', 'trian.bs=32'], # said by load_config: before or after importing torch
            'audit: key typo': ['audit', 'trian.bs=32'],
            'grid: --set typo': ['grid', '--set', 'trian.bs=16,32']} # by grid, before or after the imports

def refusal(tree:Path, cfg:Path, args:list, cache:Path) -> dict:
    "Seconds until `noisyfast COMMAND cfg ...` of `tree`'s package exits refusing, its exit status and error"
    env = tree_env(tree, cache)
    t0 = time.time()
    r = subprocess.run([sys.executable, '-m', 'noisyfast', *args[0].split(), str(cfg), *args[1:]], cwd=tree,
                       env=env, capture_output=True, text=True)
    said = [l for l in (r.stdout + r.stderr).splitlines() if 'error:' in l]
    return dict(seconds=time.time() - t0, rc=r.returncode, error=said[0][:110] if said else '(no error line)')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='083e431', help='the commit to compare against')
    p.add_argument('--photos', type=int, default=30, help='photos in all (2 classes)')
    p.add_argument('--repeats', type=int, default=2, help='refusals per mistake and side')
    p.add_argument('--smoke', action='store_true', help='small photos (400x300), one repeat: the script only')
    p.add_argument('--only', nargs='+', choices=list(MISTAKES), metavar='MISTAKE',
                   help=f"only these mistakes (default: all): {', '.join(map(repr, MISTAKES))}")
    p.add_argument('--out', default='cpu-refusal-time', help='results stem under bench/results/')
    a = p.parse_args(argv)
    mistakes = {k: v for k, v in MISTAKES.items() if not a.only or k in a.only}
    t_all, hw = time.time(), (400, 300) if a.smoke else (4032, 3024)
    repeats, rows = 1 if a.smoke else a.repeats, []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = as_heic(make_photos(tmp/'jpg', a.photos, hw), tmp/'heic')
        trees = dict(before=checkout(a.before, tmp/'before'), after=ROOT)
        cfg = tmp/'photos.yaml'
        cfg.write_text(f'name: photos\noutput_dir: {tmp}/out\n'
                       f'data: {{name: folder, path: {folder}, valid_pct: 0.2, test_pct: 0.3}}\n'
                       'model: {arch: cpu_net}\ntrain: {stages: [{size: 32, epochs: 1}], bs: 8}\n')
        for case, args in mistakes.items():
            made = tmp/'out'/'photos'
            if case == 'run folder exists': # a finished run's folder, another config
                made.mkdir(parents=True); (made/'config.yaml').write_text('seed: 1\n')
                (made/'state.json').write_text('{"done": ["data"]}\n') # (a run's folder: its state)
            got = {side: [] for side in trees}
            for k in range(repeats):
                for side in (list(trees) if k % 2 == 0 else list(trees)[::-1]):
                    r = refusal(trees[side], cfg, args, tmp/f'cache-{case}-{side}-{k}'.replace(' ', '-'))
                    if r['rc'] == 0 or 'error:' not in r['error']: # torchrun's status, not 2, for 2 processes
                        raise SystemExit(f"{side}: {case}: exit status {r['rc']}, not a refusal: "
                                         f"{r['error']}")
                    got[side].append(r)
            for side, rs in got.items():
                rows.append(dict(mistake=case, side=f'before ({a.before})' if side == 'before' else side,
                                 seconds=statistics.median(r['seconds'] for r in rs),
                                 spread='-'.join(f"{r['seconds']:.1f}" for r in rs), error=rs[0]['error']))
                print(rows[-1], flush=True)
            if made.exists():
                for f in ('config.yaml', 'state.json'): (made/f).unlink(missing_ok=True)
                made.rmdir()
    cols = [('mistake', 'mistake'), ('side', 'side'), ('seconds', 'seconds to the refusal (median)'),
            ('spread', 'each run, s'), ('error', 'what it said')]
    notes = [f'{a.photos} photos {hw[0]}x{hw[1]} as an iPhone stores them (HEIC, turned, EXIF 6) of 2 '
             f'CIFAR-10 classes; every run is a first run of the folder (an empty cache folder); {repeats} '
             'run(s) per mistake and side, alternating which side goes first']
    for case in mistakes:
        b, n = (next(r for r in rows if r['mistake'] == case and r['side'].startswith(s))
                for s in ('before', 'after'))
        notes.append(f"{case}: {b['seconds']:.1f} s -> {n['seconds']:.1f} s")
    notes.append(f'{time.time() - t_all:.0f} s in all')
    return runs_results(a, 'How long a config mistake waits to be said (first run of a folder of photos)',
                        rows, cols, notes)

if __name__ == '__main__': main()

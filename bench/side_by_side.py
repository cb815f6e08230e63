"""Several noisyfast runs at once on one CPU machine: how much each one slows down, by OpenMP setting.

PyTorch's CPU kernels run in OpenMP threads, one per core by default. Two runs started side by side on a
2-core machine (two terminals, a sweep split by hand, `nbdev-test` running two notebooks at once) put 4 busy
threads on 2 cores. This script times the same small run (scikit-learn's digits, `test_resnet`, a train stage
only) alone and with N copies started together, under each OpenMP setting given:

- `default`: the environment as it is;
- `passive`: `OMP_WAIT_POLICY=PASSIVE` (a thread with no work sleeps instead of spinning);
- `1thread`: `OMP_NUM_THREADS=1` (each run one thread).

The table gives, per setting, the median seconds of the train stage (metrics.json `train.seconds`, the fit
alone: no start-up, data or report) alone and side by side, and the slowdown (side by side / alone).

  python bench/side_by_side.py                       # -> results/cpu-side-by-side.md (.json)
  python bench/side_by_side.py --workload cifar --out bench/results/cpu-side-by-side-cifar.md
  python bench/side_by_side.py --epochs 2 --repeats 1 --out /tmp/s.md   # a quick look
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, write_results
from noisyfast.report import md_table

SETTINGS = {'default': {}, 'passive': dict(OMP_WAIT_POLICY='PASSIVE'), '1thread': dict(OMP_NUM_THREADS='1')}
# a setting sets these and nothing else: the caller's (the test environment's OMP_WAIT_POLICY) are dropped
THREAD_VARS = ('OMP_WAIT_POLICY', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')
ONLY_TRAIN = ['clean.enabled=false', 'final.enabled=false', 'audit.enabled=false',
              'evaluate.robustness=false', 'track=none']
# name: (config, overrides, what it is); {e}: the epochs
WORKLOADS = dict(
    digits=('quickstart.yaml', ['model.arch=test_resnet', # as measured in results/cpu-side-by-side.md
                                'train.stages=[{{"size": 16, "epochs": {e}, "freeze_epochs": 0}}]'],
            "scikit-learn's digits, test_resnet at 16 px"),
    cifar=('cifar10-sym50.yaml',
           ['data.max_train=2000', 'data.max_test=500', 'model.arch=cpu_net', 'train.bs=256',
            'train.stages=[{{"size": 32, "epochs": {e}, "freeze_epochs": 0, "lr": 0.02}}]'],
           'a 2,000-image CIFAR-10 slice, cpu_net at 32 px'))

def start(tmp:Path, name:str, env:dict, workload:str, epochs:int) -> subprocess.Popen:
    "`noisyfast run` of the workload's config, the train stage only, into tmp/name"
    cfg, sets, _ = WORKLOADS[workload]
    cmd = [sys.executable, '-m', 'noisyfast', 'run', str(ROOT/'configs'/cfg), '--quiet', *ONLY_TRAIN,
           *[o.format(e=epochs) for o in sets], f'name={name}', f'output_dir={tmp}']
    return subprocess.Popen(cmd, cwd=ROOT, env=setting_env(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)

def setting_env(setting:dict) -> dict:
    "The environment of a run under `setting`: this one without `THREAD_VARS`, then the setting's"
    return {**{k: v for k, v in os.environ.items() if k not in THREAD_VARS}, 'MPLBACKEND': 'Agg', **setting}

def together(tmp:Path, tag:str, env:dict, n:int, workload:str, epochs:int) -> list:
    "Start n runs at once; the train stage's seconds of each"
    ps = [start(tmp, f'{tag}-{k}', env, workload, epochs) for k in range(n)]
    for k, p in enumerate(ps):
        _, err = p.communicate()
        if p.returncode: raise SystemExit(f'run {tag}-{k} failed ({p.returncode}):\n{err[-2000:]}')
    return [json.loads((tmp/f'{tag}-{k}'/'metrics.json').read_text())['train']['seconds'] for k in range(n)]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--settings', nargs='+', default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument('--n', type=int, default=2, help='runs started together')
    p.add_argument('--workload', default='digits', choices=list(WORKLOADS))
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'cpu-side-by-side.md'))
    a = p.parse_args(argv)
    rows, raw = [], {}
    with tempfile.TemporaryDirectory(prefix='side-by-side-') as tmp:
        for s in a.settings:
            alone, side = [], []
            for r in range(a.repeats):
                alone += together(Path(tmp), f'{s}-alone{r}', SETTINGS[s], 1, a.workload, a.epochs)
                side += together(Path(tmp), f'{s}-side{r}', SETTINGS[s], a.n, a.workload, a.epochs)
            raw[s] = dict(alone=alone, side_by_side=side)
            ma, ms = statistics.median(alone), statistics.median(side)
            env = ' '.join(f'{k}={v}' for k, v in SETTINGS[s].items()) or '(none set)'
            rows.append(dict(setting=s, env=env, alone=ma, side=ms, slowdown=ms / ma))
            print(f'{s:>8}: alone {ma:.1f} s, {a.n} side by side {ms:.1f} s each ({ms / ma:.2f}x)',
                  flush=True)
    cols = [('setting', 'setting'), ('env', 'environment'), ('alone', 'train stage alone (s)'),
            ('side', f'each of {a.n} side by side (s)'), ('slowdown', 'slowdown')]
    out = Path(a.out)
    cfg, _, what = WORKLOADS[a.workload]
    notes = [f'The same run (configs/{cfg}: {what}, a {a.epochs}-epoch train stage only) alone, then '
             f'{a.n} copies started together; seconds of the train stage (metrics.json), median of '
             f'{a.repeats} repeats (alone) and of every copy of {a.repeats} repeats (side by side).',
             'Slowdown: side by side / alone; with n copies on as many cores as one run uses, the fair share '
             f'is {a.n}x (each gets 1/{a.n} of the machine).',
             "Each run's environment sets only its setting's variables of "
             f"{', '.join(THREAD_VARS)} (the shell's own are dropped): '(none set)' is OpenMP's default, "
             'spinning threads.']
    write_results(out.stem, 'Runs side by side on one CPU machine, by OpenMP setting',
                  settings=dict(workload=a.workload, settings=a.settings, n=a.n, epochs=a.epochs,
                                repeats=a.repeats),
                  sections=[('Train-stage seconds', md_table(rows, cols, fmt=cell))], notes=notes,
                  data=dict(rows=rows, raw=raw), folder=out.parent)
    print(f'wrote {out}')

if __name__ == '__main__': main()

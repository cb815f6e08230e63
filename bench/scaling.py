"""Wall time per stage and training throughput of one `noisyfast run` in 1, 2, ... N processes, side by side.

Each run is the console script (`noisyfast run CONFIG --processes N`, torchrun underneath): DDP with gloo on
CPU, nccl on GPUs, so the times include starting the processes, the data, the report. The train and final
stages are data-parallel (global batch `train.bs`, each process `train.bs / N`); the clean stage trains fold k
on process k mod N. img/s is (images in the stage's train set x epochs) / the stage's fit time, from
metrics.json.

  python bench/scaling.py  # CPU: digits quickstart made small, 1 and 2 processes
  python bench/scaling.py --config configs/cifar10n-worst.yaml --processes 1 2 4 8 --stem gpu-scaling --full
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, versions, now, load_average, cell, write_results
from noisyfast.config import Config, from_dict
from noisyfast.report import md_table
from noisyfast.train import fit_epochs

ROOT = Path(__file__).parent.parent
# CPU: the quickstart (digits, 16 px) with fewer epochs and folds, no robustness pass, and the net it had when
# results/cpu-scaling.md was measured (test_resnet; the quickstart's is cpu_net since 2026-11-30)
SMALL = ['train.stages.0.epochs=6', 'clean.folds=2', 'clean.epochs=3', 'evaluate.robustness=false',
         'model.arch=test_resnet']

def run(config, n, overrides, out):
    "One run in `n` processes; (wall seconds, metrics.json, the resolved config)"
    cmd = [sys.executable, '-m', 'noisyfast', 'run', str(config), *overrides, f'output_dir={out}',
           f'name=p{n}', '--processes', str(n), '--overwrite']
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.time() - t0
    if r.returncode:
        raise SystemExit(f'{" ".join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}')
    folder = Path(out)/f'p{n}'
    import yaml
    return (wall, json.loads((folder/'metrics.json').read_text()),
            yaml.safe_load((folder/'config.yaml').read_text()))

def epochs(cfg, stage):
    "Epochs one model of `stage` trains, as `fit` counts them (`fit_epochs`: frozen phases included)"
    c = from_dict(cfg, Config, 'config.yaml')
    trained = bool(c.model.pretrained) or (stage == 'final' and bool(c.final.init)) # the body starts trained
    return fit_epochs(c.train, c.clean.epochs if stage == 'clean' else None, trained)

def row(n, wall, m, cfg):
    r = dict(processes=n, wall_s=round(wall, 1), run_s=m.get('total_seconds'))
    for st in ('train', 'clean', 'final'):
        if st not in m: continue
        r[f'{st}_s'] = m[st]['seconds']
        if st != 'clean':
            r[f'{st}_img_s'] = round(m[st]['train_size'] * epochs(cfg, st) / m[st]['seconds'], 1)
        else: r['clean_img_s'] = round(m[st]['checked'] * (cfg['clean']['folds'] - 1) * epochs(cfg, st)
                                       / m[st]['seconds'], 1)
    for st in ('train', 'final'):
        if st in m: r[f'{st}_test_acc'] = round(m[st]['test_accuracy'], 4)
    if 'clean' in m: r['flagged'] = m['clean']['flagged']
    return r

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=str(ROOT/'configs'/'quickstart.yaml'))
    p.add_argument('--processes', type=int, nargs='+', default=[1, 2])
    p.add_argument('--full', action='store_true',
                   help='the config as it is (default: the small CPU overrides)')
    p.add_argument('--stem', default='cpu-scaling')
    p.add_argument('overrides', nargs='*', help='key=value for every run')
    a = p.parse_args()
    over = ([] if a.full else SMALL) + a.overrides
    out = Path(tempfile.mkdtemp(prefix='scaling-'))
    rows, loads = [], []
    try:
        for n in a.processes:
            loads.append(load_average())
            wall, m, cfg = run(a.config, n, over, out)
            rows.append(row(n, wall, m, cfg))
            print(json.dumps(rows[-1]), flush=True)
    finally: shutil.rmtree(out, ignore_errors=True)
    cols = ['processes', ('wall_s', 'wall s'), ('run_s', 'run s'), ('train_s', 'train s'),
            ('train_img_s', 'train img/s'), ('clean_s', 'clean s'), ('clean_img_s', 'clean img/s'),
            ('final_s', 'final s'), ('final_img_s', 'final img/s'), ('train_test_acc', 'train test acc'),
            ('final_test_acc', 'final test acc'), 'flagged']
    notes = [f'`noisyfast run {Path(a.config).name} {" ".join(over)} --processes N`; each N in turn, one run '
             f'each (load average before each: {", ".join(loads)}).',
             'wall s: the whole command (starting the processes, imports, data, every stage, the report); '
             'run s: metrics.json total_seconds; stage s: each stage\'s own time.',
             'img/s: train and final = train images x epochs / fit seconds (global, all processes); clean = '
             'images the K fold models train on (K-1 folds each) x epochs / stage seconds.']
    write_results(a.stem, f'Scaling: one run in {", ".join(map(str, a.processes))} processes',
                  settings=dict(config=a.config, overrides=over, processes=a.processes),
                  sections=[('Wall time and throughput', md_table(rows, cols, fmt=cell))], notes=notes,
                  data=rows)

if __name__ == '__main__': main()

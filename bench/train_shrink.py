"""Test accuracy when training shrinks its images: antialiased first (this checkout) against bilinear sampling
alone (an earlier commit), the same runs otherwise.

Imagenette decodes at its native 160 px; a stage at 64 px shrinks every batch 2.5x. Evaluation has always
resized with antialiasing; before 2026-12-02 an augmented training batch was resized by `grid_sample` alone,
which reads 2x2 pixels per output pixel, so training saw aliased images that validation and test never did.
Each cell is one `noisyfast run` (a train stage only, clean labels, `cpu_net` from random weights) of each
checkout, the same seed, data slice and epochs on both sides.

  python bench/train_shrink.py                    # -> results/cpu-train-shrink.md (.json), about 10 minutes
  python bench/train_shrink.py --seeds 1 --augments flip --epochs 2 --out /tmp/t   # a quick look
  python bench/train_shrink.py --smoke            # tiny: the script's own check, nothing written
"""
from __future__ import annotations
import argparse, json, statistics, subprocess, sys, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _common import runs_results, tree_env
from loader_ab import checkout

CONFIG = ROOT/'configs'/'imagenette-noisy5-128px.yaml'
ONLY_TRAIN = ['model.arch=cpu_net', 'noise.kind=none', 'noise.column=null', 'clean.enabled=false',
              'final.enabled=false', 'evaluate.robustness=false', 'train.label_smoothing=0', 'track=none']

def one_run(tree:Path, out:Path, name:str, a, seed:int, augment:str) -> dict:
    "One train-stage run of `tree`'s package: its test accuracy and seconds (metrics.json)"
    stage = json.dumps([dict(size=a.size, epochs=a.epochs, freeze_epochs=0, lr=a.lr)])
    cmd = [sys.executable, '-m', 'noisyfast', 'run', str(CONFIG), *ONLY_TRAIN, f'data.max_train={a.train}',
           f'data.max_test={a.test}', f'seed={seed}', f'train.augment={augment}', f'train.stages={stage}',
           f'name={name}', f'output_dir={out}', '--overwrite', '--no-report', '--quiet']
    r = subprocess.run(cmd, cwd=out, env=tree_env(tree), capture_output=True, text=True)
    if r.returncode != 0: raise SystemExit(f'{tree}: noisyfast run failed:\n{r.stderr[-3000:]}')
    m = json.loads((out/name/'metrics.json').read_text())
    return dict(test_acc=m['train']['test_accuracy'], seconds=m['total_seconds'])

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='08fd7a1', help='the commit without the antialiased shrink')
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2])
    p.add_argument('--augments', nargs='+', default=['flip', 'rrc'])
    p.add_argument('--size', type=int, default=64, help='the stage size (Imagenette decodes at 160 px)')
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--lr', type=float, default=0.02)
    p.add_argument('--train', type=int, default=3000, help='data.max_train')
    p.add_argument('--test', type=int, default=1000, help='data.max_test')
    p.add_argument('--smoke', action='store_true',
                   help='tiny runs, one seed: the script works; nothing written')
    p.add_argument('--out', default='cpu-train-shrink', help='results file stem (in bench/results)')
    a = p.parse_args(argv)
    if a.smoke: a.seeds, a.augments, a.epochs, a.train, a.test = a.seeds[:1], a.augments[:1], 1, 120, 60
    rows = []
    with tempfile.TemporaryDirectory(prefix='noisyfast-shrink-') as tmp:
        trees = dict(before=checkout(a.before, Path(tmp)/'before'), after=ROOT)
        for seed in a.seeds:
            for aug in a.augments:
                r = {side: one_run(tree, Path(tmp), f'{side}-{aug}-{seed}', a, seed, aug)
                     for side, tree in trees.items()}
                flat = {f'{s}_{k}': v for s in r for k, v in r[s].items()}
                rows.append(dict(augment=aug, seed=seed, **flat))
                print(f"{aug} seed {seed}: test accuracy {r['before']['test_acc']:.3f} before, "
                      f"{r['after']['test_acc']:.3f} after", flush=True)
    for aug in a.augments:
        mine = [r for r in rows if r['augment'] == aug]
        rows.append(dict(augment=aug, seed='mean', **{k: statistics.mean(r[k] for r in mine)
                                                     for k in mine[0] if k.endswith(('_acc', 'seconds'))}))
    cols = ['augment', 'seed', ('before_test_acc', f'test accuracy, {a.before}'), ('after_test_acc', 'after'),
            ('before_seconds', f'seconds, {a.before}'), ('after_seconds', 'after')]
    notes = [f'Imagenette decoded at 160 px, trained at {a.size} px for {a.epochs} epochs: {a.train} train '
             f'images (less a 10 % valid split), {a.test} test images, clean labels, cpu_net from random '
             'weights',
             'seconds: the whole run (data, training, evaluation); the antialiased resize costs CPU time']
    title = 'Training on shrunk images: antialiased first, against bilinear sampling alone'
    return runs_results(a, title,
                        rows, cols, notes)

if __name__ == '__main__': main()

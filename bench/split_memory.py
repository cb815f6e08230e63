"""Memory of a run's decoded images, before and after splits became views of one store: peak memory, time and
test accuracy of `noisyfast run` on an earlier commit and on this checkout, on a slice of a larger data set.

Before 2026-12-02 `ArrayData` kept each domain's decoded images in a store as long as the largest data-set
index any split used (a 2,000-image slice of Imagenette's 9,469 train images: the whole 9,469), and handed
every split out as a copy (a fit's train and valid images: the store twice over, more with divide). Now the
store holds the run's images only (`domain_positions`, made once) and a split is a `StoreView` of its rows.
The same pixels in the same order: the two sides must train to the same test accuracy.

    python bench/split_memory.py                   # 75068ae (before) vs this checkout, Imagenette slice
    python bench/split_memory.py --smoke           # a quick check of the script itself (CIFAR-10, 300)

Each side runs `python -m noisyfast run` in its own process with its own package (PYTHONPATH), one after the
other, with its own cache folder; peak memory is that process's maximum resident set. Writes
results/cpu-split-memory.md (.json).
"""
from __future__ import annotations
import argparse, json, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import runs_results, tree_env
from loader_ab import checkout
from photos import peak_run

ROOT = Path(__file__).resolve().parent.parent

def run_side(tree:Path, cfg:Path, name:str) -> dict:
    "Wall time, peak memory and metrics of one `noisyfast run` of `tree`'s package"
    env = tree_env(tree, cfg.parent/f'cache-{tree.name}', NOISYFAST_ARCHIVE=str(archive())) # own cache
    wall, peak = peak_run(tree, env, 'run', str(cfg), '--overwrite', '--no-report')
    m = json.loads((cfg.parent/'out'/name/'metrics.json').read_text())
    return dict(wall_s=wall, peak_gib=peak, train_s=m['train']['seconds'],
                train_size=m['train']['train_size'], test_acc=m['train']['test_accuracy'])

def archive() -> Path:
    from noisyfast.data import find_archive_dir
    if (d := find_archive_dir()) is None: raise SystemExit('no archive folder: set NOISYFAST_ARCHIVE')
    return d

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='75068ae', help='the commit to compare against')
    p.add_argument('--data', default='imagenette', choices=('imagenette', 'cifar10'))
    p.add_argument('--max-train', type=int, default=2000, help='the slice of the train images')
    p.add_argument('--max-test', type=int, default=500)
    p.add_argument('--size', type=int, default=64, help='the training size')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--smoke', action='store_true', help='CIFAR-10, 300 images: checks the script only')
    p.add_argument('--out', default='cpu-split-memory', help='results stem under bench/results/')
    a = p.parse_args(argv)
    if a.smoke: a.data, a.max_train, a.max_test, a.size = 'cifar10', 300, 100, 32
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = tmp/'slice.yaml'
        cfg.write_text(f'name: slice\noutput_dir: {tmp}/out\nseed: 0\n'
                       f'data: {{name: {a.data}, max_train: {a.max_train}, max_test: {a.max_test}}}\n'
                       'model: {arch: cpu_net}\n'
                       f'train: {{stages: [{{size: {a.size}, epochs: {a.epochs}, freeze_epochs: 0}}], '
                       'bs: 64}\n'
                       'evaluate: {robustness: false}\naudit: {enabled: false}\nclean: {enabled: false}\n'
                       'final: {enabled: false}\ntrack: none\n')
        rows = []
        for side, tree in (('before', checkout(a.before, tmp/'before')), ('after', ROOT)):
            rows.append(dict(side=f'{side} ({a.before})' if side == 'before' else side,
                             **run_side(tree, cfg, 'slice')))
            print(rows[-1], flush=True)
    cols = [('side', 'side'), ('train_size', 'train images'), ('train_s', 'train s'),
            ('wall_s', 'whole run s'), ('peak_gib', 'peak memory GiB'), ('test_acc', 'test accuracy')]
    b, n = rows
    notes = [f'{a.data}: a {a.max_train:,}-image slice of the train images (less a 10 % valid split) and '
             f'{a.max_test:,} test images, decoded at the native size, trained at {a.size} px for {a.epochs} '
             'epoch(s), cpu_net from random weights, the train stage only',
             f"peak memory {b['peak_gib']:.2f} -> {n['peak_gib']:.2f} GiB; test accuracy "
             f"{b['test_acc']:.4f} -> {n['test_acc']:.4f} (the same pixels in the same order: equal)"]
    title = "A slice of a data set: the run's decoded images, before and after splits as views"
    return runs_results(a, title, rows, cols, notes)

if __name__ == '__main__': main()

"""A folder of phone photos (12 MP JPEGs stored turned, with EXIF orientation 6), trained at a small size:
time, peak memory and test accuracy of `noisyfast run` on an earlier commit and on this checkout.

Before 2026-11-30 a run without `data.image_size` decoded such photos at their median size (4032x3024: 36 MB
each, in RAM or on the GPU) and resized every batch from there; now they are decoded once at twice the largest
stage size (`noisyfast.train.decode_size`), by the JPEG decoder at 1/2, 1/4 or 1/8 scale where that covers it.

    python bench/photos.py                        # 2e8a341 (before) vs this checkout, 60 photos
    python bench/photos.py --photos 24 --smoke    # a quick check of the script itself
    python bench/photos.py --loader fastai --before 07575c9 --out cpu-photos-fastai

`--loader fastai` trains through fastai's DataBlock pipeline (`data.loader: fastai`, what a run takes when the
decoded images do not fit in memory), which decodes every file in every epoch: since 2026-11-30 a JPEG there
is decoded at 1/2, 1/4 or 1/8 scale where that covers twice the training size, as on the fast path.

Each side runs `python -m noisyfast run` in its own process with its own package (PYTHONPATH), one after the
other; peak memory is that process's maximum resident set. Writes results/cpu-photos.md (.json).
"""
from __future__ import annotations
import argparse, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import PEAK_RSS, runs_results, tree_env
from loader_ab import checkout

ROOT = Path(__file__).resolve().parent.parent
PEAK = ('import runpy, sys\nsys.argv = ["noisyfast"] + sys.argv[1:]\n'
        'try: runpy.run_module("noisyfast", run_name="__main__")\n'
        f'finally: {PEAK_RSS}')

def make_photos(root:Path, n:int, hw=(4032, 3024), seed:int=0) -> Path:
    "`n` photos of 2 CIFAR-10 classes, upscaled to `hw` (portrait) with sensor noise, stored turned + EXIF 6"
    from noisyfast.data import load_source
    src, rng = load_source('cifar10', download_ok=False), np.random.default_rng(seed)
    ex = Image.Exif(); ex[0x0112] = 6
    for c in (0, 6): # airplane, frog
        (root/src.vocab[c]).mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(np.flatnonzero(src.train_y == c)[:n // 2]):
            im = Image.open(src.train_x[i]).convert('RGB').resize((hw[1], hw[0]), Image.BICUBIC)
            a = np.asarray(im, np.int16) + rng.normal(0, 4, (*hw, 3)).astype(np.int16)
            a = np.rot90(a.clip(0, 255).astype(np.uint8), 1) # stored as the sensor read it: landscape
            Image.fromarray(np.ascontiguousarray(a)).save(root/src.vocab[c]/f'IMG_{k:04d}.JPG', quality=90,
                                                          exif=ex.tobytes())
    return root

def peak_run(tree:Path, env:dict, *args) -> tuple:
    "`noisyfast *args` with `tree`'s package: (wall s, the process's peak memory in GiB); exits on failure"
    t0 = time.time()
    r = subprocess.run([sys.executable, '-c', PEAK, *args], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0: raise SystemExit(f'{tree}: noisyfast {args[0]} failed:\n{r.stderr[-3000:]}')
    return wall, int(re.search(r'peak_rss_kib (\d+)', r.stderr).group(1)) / 2**20

def run_side(tree:Path, cfg:Path) -> dict:
    "Wall time, peak memory, decode line and metrics of one `noisyfast run` of `tree`'s package"
    env = tree_env(tree, cfg.parent/f'cache-{tree.name}') # its own cache: no checks of the other side
    wall, peak = peak_run(tree, env, 'run', str(cfg), '--overwrite')
    run = cfg.parent/'out'/'photos'
    log = (run/'log.txt').read_text()
    dec = re.search(r'decoding [\d,]+ images(.*)\n.*?decoded [\d,]+ images in ([\d.]+) s', log, re.S)
    m, at = json.loads((run/'metrics.json').read_text()), dec and dec.group(1).split(':')[0].strip()
    return dict(wall_s=wall, peak_gib=peak, decode_s=float(dec.group(2)) if dec else None,
                decoded_at=(at.removeprefix('at ') or 'the median size') if dec else 'fastai loader',
                train_s=m['train']['seconds'], test_acc=m['train']['test_accuracy'])

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='2e8a341', help='the commit to compare against')
    p.add_argument('--photos', type=int, default=60, help='photos in all (2 classes)')
    p.add_argument('--size', type=int, default=64, help='the training size (train.stages.0.size)')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--smoke', action='store_true', help='small photos (400x300): checks the script only')
    p.add_argument('--loader', default='fast', choices=('fast', 'fastai'), help='data.loader of both sides')
    p.add_argument('--out', default='cpu-photos', help='results stem under bench/results/')
    a = p.parse_args(argv)
    t_all, hw = time.time(), (400, 300) if a.smoke else (4032, 3024)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.time(); make_photos(tmp/'photos', a.photos, hw); made = time.time() - t0
        mb = sum(f.stat().st_size for f in (tmp/'photos').rglob('*.JPG')) / 2**20
        print(f'{a.photos} photos {hw[0]}x{hw[1]} (stored turned, EXIF 6), {mb:,.0f} MiB, made in '
              f'{made:.0f} s')
        cfg = tmp/'photos.yaml'
        cfg.write_text(f'name: photos\noutput_dir: {tmp}/out\nseed: 0\n'
                       f'data: {{name: folder, path: {tmp}/photos, valid_pct: 0.2, test_pct: 0.3, '
                       f'loader: {a.loader}}}\n'
                       'model: {arch: cpu_net}\n'
                       f'train: {{stages: [{{size: {a.size}, epochs: {a.epochs}, lr: 0.003}}], bs: 8}}\n'
                       'evaluate: {robustness: false}\n')
        rows = []
        for side, tree in (('before', checkout(a.before, tmp/'before')), ('after', ROOT)):
            r = run_side(tree, cfg)
            rows.append(dict(side=f'{side} ({a.before})' if side == 'before' else side, **r))
            print(rows[-1])
    cols = [('side', 'side'), ('decoded_at', 'decoded at'), ('decode_s', 'decode s'), ('train_s', 'train s'),
            ('wall_s', 'whole run s'), ('peak_gib', 'peak memory GiB'), ('test_acc', 'test accuracy')]
    b, n = rows
    notes = [f'{a.photos} photos {hw[0]}x{hw[1]} (h x w as shown; stored turned with EXIF 6), JPEG quality '
             f'90, {mb:,.0f} MiB; trained at {a.size} px for {a.epochs} epochs (cpu_net, {a.loader} loader)',
             f"whole run {b['wall_s']:.0f} s -> {n['wall_s']:.0f} s ({b['wall_s'] / n['wall_s']:.1f}x), peak "
             f"memory {b['peak_gib']:.2f} -> {n['peak_gib']:.2f} GiB",
             'the test split is 30 % of a few dozen photos: accuracies differ by chance alone',
             f'{time.time() - t_all:.0f} s in all']
    return runs_results(a, 'A folder of phone photos, before and after decoding at the training size',
                        rows, cols, notes)

if __name__ == '__main__': main()

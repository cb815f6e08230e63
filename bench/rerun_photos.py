"""A folder of phone photos run twice, as a user tuning a config does: the time each run spends checking and
decoding the photos, on an earlier commit and on this checkout.

Before 2026-11-30 every run checked (decoded) each of your files once more and decoded them again for
training: about a second each for a 12 MP iPhone photo (HEIC), ~40 ms for a JPEG. Now the files that read well
are remembered (`noisyfast.data.KnownImages`) and the decoded images are kept on disk while the files are
unchanged (`data.cache`, users' keys `noisyfast.data.own_files_key`), so a second run of the same files
checks and decodes none of them. Since 2026-11-30 (session 18) the first run decodes a HEIC photo once: the
check leaves its decode at the run's size for training (`noisyfast.data.HANDED`).

    python bench/rerun_photos.py --before 0da1825 --formats heic --photos 16 --out cpu-rerun-photos-handover

    python bench/rerun_photos.py                      # 742ba2f (before) vs this checkout, HEIC and JPEG
    python bench/rerun_photos.py --smoke --photos 8   # a quick check of the script itself

Each side runs `python -m noisyfast run` twice in its own processes with its own package (PYTHONPATH) and its
own empty cache folder ($NOISYFAST_CACHE); the second run has another seed (another grid combination).
Writes results/cpu-rerun-photos.md (.json).
"""
from __future__ import annotations
import argparse, os, re, subprocess, sys, tempfile, time
from pathlib import Path
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import runs_results, tree_env
from loader_ab import checkout
from photos import make_photos

ROOT = Path(__file__).resolve().parent.parent

def as_heic(src:Path, dest:Path) -> Path:
    "Every JPEG of folder `src` as an iPhone would store it: HEIC with an `irot` box and EXIF orientation 6"
    import pillow_heif
    pillow_heif.register_heif_opener()
    for f in sorted(src.rglob('*.JPG')):
        (dest/f.parent.name).mkdir(parents=True, exist_ok=True)
        with Image.open(f) as im: im.save(dest/f.parent.name/f'{f.stem}.HEIC', exif=im.getexif().tobytes())
    return dest

def seconds(s:str) -> float:
    "`fmt_seconds` text back to seconds: '12.7 s', '3 min 05 s'"
    m = re.fullmatch(r'(?:(\d+) min )?([\d.]+) s', s.strip())
    if m is None: raise ValueError(f'not a time: {s!r}')
    return 60 * int(m.group(1) or 0) + float(m.group(2))

def one_run(tree:Path, cfg:Path, cache:Path, seed:int) -> dict:
    "Wall time, check (data loading) and decode seconds of one `noisyfast run`"
    env = tree_env(tree, cache)
    t0 = time.time()
    r = subprocess.run([sys.executable, '-m', 'noisyfast', 'run', str(cfg), '--overwrite', f'seed={seed}'],
                       cwd=tree, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0: raise SystemExit(f'{tree}: noisyfast run failed:\n{r.stderr[-3000:]}')
    log = (cfg.parent/'out'/'photos'/'log.txt').read_text()
    loaded = re.search(r'data set loaded in (.+)', log).group(1)
    dec = re.search(r'decoded [\d,]+ images in ([\d.]+ s|\d+ min \d+ s)(.*)', log)
    def count(what): # '(12 read back from the cache...; 3 as the check decoded them...)'
        m = re.search(r'([\d,]+) ' + what, dec.group(2))
        return int(m.group(1).replace(',', '')) if m else 0
    return dict(wall_s=wall, load_s=seconds(loaded), decode_s=seconds(dec.group(1)),
                from_cache=count('read back'), from_check=count('as the check decoded them'))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='742ba2f', help='the commit to compare against')
    p.add_argument('--photos', type=int, default=30, help='photos in all (2 classes)')
    p.add_argument('--formats', default='heic,jpg', help='heic, jpg or both')
    p.add_argument('--smoke', action='store_true', help='small photos (400x300): checks the script only')
    p.add_argument('--out', default='cpu-rerun-photos', help='results stem under bench/results/')
    a = p.parse_args(argv)
    t_all, hw, rows = time.time(), (400, 300) if a.smoke else (4032, 3024), []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.time(); make_photos(tmp/'jpg', a.photos, hw)
        made = [f'JPEG {time.time() - t0:.0f} s']
        trees = dict(before=checkout(a.before, tmp/'before'), after=ROOT)
        for fmt in a.formats.split(','):
            if fmt == 'heic':
                t0 = time.time(); as_heic(tmp/'jpg', tmp/'heic')
                made.append(f'HEIC {time.time() - t0:.0f} s')
            folder = tmp/fmt
            mb = sum(f.stat().st_size for f in folder.rglob('*.*')) / 2**20
            cfg = tmp/'photos.yaml'
            cfg.write_text(f'name: photos\noutput_dir: {tmp}/out\nseed: 0\n'
                           f'data: {{name: folder, path: {folder}, valid_pct: 0.2, test_pct: 0.3}}\n'
                           'model: {arch: cpu_net}\n'
                           'train: {stages: [{size: 32, epochs: 1, lr: 0.003}], bs: 8}\n'
                           'evaluate: {robustness: false}\n')
            for side, tree in trees.items():
                cache = tmp/f'cache-{fmt}-{side}' # empty: the first run is a first run
                for k, seed in enumerate((0, 1), 1):
                    r = one_run(tree, cfg, cache, seed)
                    rows.append(dict(photos=f'{a.photos} {fmt.upper()} ({mb:,.0f} MiB)',
                                     side=f'before ({a.before})' if side == 'before' else side, run=k, **r))
                    print(rows[-1], flush=True)
    cols = [('photos', 'photos'), ('side', 'side'), ('run', 'run'), ('load_s', 'load + check s'),
            ('decode_s', 'decode s'), ('from_cache', 'images from the cache'),
            ('from_check', "images from the check's decode"), ('wall_s', 'whole run s')]
    notes = [f'{a.photos} photos {hw[0]}x{hw[1]} (h x w as shown; stored turned: JPEG with EXIF 6, HEIC '
             f'with irot and EXIF 6) of 2 CIFAR-10 classes, made in {", ".join(made)}; each run trains '
             'cpu_net 1 epoch at 32 px (decoded at 85x64); run 2: the same folder with seed 1, the same '
             'cache folder']
    for fmt in a.formats.split(','):
        r = {(x['side'].split()[0], x['run']): x for x in rows if fmt.upper() in x['photos']}
        b, n = r[('before', 1)], r[('after', 1)]
        notes.append(f"{fmt.upper()}, first run: check + decode {b['load_s'] + b['decode_s']:.1f} s -> "
                     f"{n['load_s'] + n['decode_s']:.1f} s; whole run {b['wall_s']:.0f} s -> "
                     f"{n['wall_s']:.0f} s")
        b, n = r[('before', 2)], r[('after', 2)]
        notes.append(f"{fmt.upper()}, second run: check + decode {b['load_s'] + b['decode_s']:.1f} s -> "
                     f"{n['load_s'] + n['decode_s']:.1f} s; whole run {b['wall_s']:.0f} s -> "
                     f"{n['wall_s']:.0f} s")
    notes.append(f'{time.time() - t_all:.0f} s in all')
    title = 'A folder of phone photos run twice, before and after remembering what was decoded'
    return runs_results(a, title, rows, cols, notes)

if __name__ == '__main__': main()

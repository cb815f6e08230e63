"""A folder of photos whose decoded images do not fit the memory budget: where a run keeps them, and what an
epoch costs, side by side: in memory (they fit), this checkout's cache file (`placement` 'disk': each batch
read from the memory-mapped file), and an earlier commit, where such a folder took fastai's pipeline (every
photo decoded again in every epoch). With --audit the runs have the clean (in-sample), audit and robustness
stages too; against 00bef7b, where the audit's pixel features and robustness gathered the images in memory.

    python bench/larger_than_memory.py          # 48 12 MP HEIC photos at 224 px; c167077: the earlier commit
    python bench/larger_than_memory.py --format jpg --out cpu-larger-than-memory-jpg
    python bench/larger_than_memory.py --format jpg --photos 4000 --hw 600x450 --size 112 --epochs 1 \
        --repeats 1 --out cpu-larger-than-memory-4000       # memory: 4,000 small photos, 0.8 GB decoded
    python bench/larger_than_memory.py --format jpg --photos 4000 --hw 600x450 --size 112 --epochs 1 \
        --repeats 1 --audit --before 00bef7b --out cpu-larger-than-memory-audit # + the audit and robustness
    python bench/larger_than_memory.py --photos 12 --smoke  # a quick check of the script itself

The memory budget (`noisyfast.train.memory_budget`, half the free RAM) is set to 1 byte in the processes of
the two budget sides, as if the folder were larger than memory: a folder that really is would need more disk
and time than a benchmark has. Each side runs `python -m noisyfast run` in its own process with its own
package (PYTHONPATH) and cache folder: a first run (checks and decodes the photos), then `--repeats` runs, the
sides alternating. Before every run of the cache-file side its file is dropped from the page cache
(`posix_fadvise DONTNEED`), so each run reads it from the disk once. Peak memory: the run process's largest
resident set, and its largest anonymous resident memory (RssAnon, sampled), which the mapped file's pages are
not part of. Writes results/cpu-larger-than-memory.md (.json).
"""
from __future__ import annotations
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import PEAK_RSS, runs_results, tree_env
from loader_ab import checkout
from photos import make_photos

ROOT = Path(__file__).resolve().parent.parent
WRAP = ('import os, runpy, sys\n'
        'import noisyfast.train as t\n'
        'b = os.environ.get("BENCH_BUDGET")\n'
        'if b: t.memory_budget = lambda device=None: int(b)\n'
        'sys.argv = ["noisyfast"] + sys.argv[1:]\n'
        'try: runpy.run_module("noisyfast", run_name="__main__")\n'
        f'finally: {PEAK_RSS}')
PLACED = re.compile(r"^\[\w+\] (the decoded images .*|fastai's pipeline decodes .*)$", re.M)

def drop_page_cache(folder:Path):
    "Evict the decoded-image files under `folder` from the page cache: the next read comes from the disk"
    for f in folder.rglob('*.u8'):
        fd = os.open(f, os.O_RDONLY)
        try: os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally: os.close(fd)

def as_heic(folder:Path):
    "Each JPEG under `folder` saved as an HEIC file (its EXIF kept), as an iPhone stores photos"
    import noisyfast.data # registers pillow-heif's HEIC opener and saver
    from PIL import Image
    for f in sorted(folder.rglob('*.JPG')):
        with Image.open(f) as im: im.save(f.with_suffix('.HEIC'), exif=im.info.get('exif'), quality=80)
        f.unlink()

def peak_anon(p:subprocess.Popen, every:float=0.05) -> int:
    "Wait for `p`, sampling its anonymous resident memory (RssAnon: what the kernel cannot drop); peak bytes"
    peak = 0
    while p.poll() is None:
        try:
            with open(f'/proc/{p.pid}/status') as f:
                peak = max([peak] + [int(l.split()[1]) * 1024 for l in f if l.startswith('RssAnon:')])
        except OSError: pass # it has just ended
        time.sleep(every)
    return peak

def watched_run(tree:Path, cfg:Path, env:dict, launcher:list) -> tuple:
    "`python LAUNCHER run cfg` in `tree` (no report): wall s, peak RssAnon bytes, stderr; exits on failure"
    t0 = time.time()
    with tempfile.TemporaryFile('w+') as err:
        p = subprocess.Popen([sys.executable, *launcher, 'run', str(cfg), '--overwrite', '--no-report'],
                             cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        anon, wall = peak_anon(p), time.time() - t0
        err.seek(0); stderr = err.read()
    if p.returncode != 0: raise SystemExit(f'{tree}: noisyfast run failed:\n{stderr[-3000:]}')
    return wall, anon, stderr

def run_side(tree:Path, cfg:Path, cache:Path, budget:int=None) -> dict:
    "Wall time, peak memory, where the images were, train seconds and accuracy of one `noisyfast run`"
    env = tree_env(tree, cache, BENCH_BUDGET=str(budget or ''))
    wall, anon, stderr = watched_run(tree, cfg, env, ['-c', WRAP])
    run = cfg.parent/'out'/cfg.stem
    log, m = (run/'log.txt').read_text(), json.loads((run/'metrics.json').read_text())
    placed = PLACED.search(log)
    return dict(wall_s=wall, peak_gib=int(re.search(r'peak_rss_kib (\d+)', stderr).group(1)) / 2**20,
                anon_gib=anon / 2**30,
                train_s=m['train']['seconds'], test_acc=m['train']['test_accuracy'],
                placed=placed.group(1)[:60] if placed else '(nothing said)')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='c167077', help='the earlier commit (no cache-file placement)')
    p.add_argument('--photos', type=int, default=48, help='photos in all (2 classes)')
    p.add_argument('--size', type=int, default=224, help='the training size (train.stages.0.size)')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--format', default='heic', choices=('heic', 'jpg'),
                   help="the photos' format: iPhone HEIC (decoded whole) or JPEG (at a reduced scale)")
    p.add_argument('--repeats', type=int, default=2, help='timed runs per side, after a first run')
    p.add_argument('--hw', default='4032x3024', help="the photos' height x width (as shown)")
    p.add_argument('--audit', action='store_true',
                   help='the audit (on pixels: clean.oof false) and robustness stages too, not only training')
    p.add_argument('--smoke', action='store_true', help='small photos (400x300), 1 repeat: the script only')
    p.add_argument('--out', default='cpu-larger-than-memory', help='results stem under bench/results/')
    a = p.parse_args(argv)
    t_all, hw = time.time(), (400, 300) if a.smoke else tuple(int(v) for v in a.hw.split('x'))
    repeats = 1 if a.smoke else a.repeats
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_photos(tmp/'photos', a.photos, hw)
        if a.format == 'heic': as_heic(tmp/'photos')
        mb = sum(f.stat().st_size for f in (tmp/'photos').rglob('IMG_*')) / 2**20
        cfg = tmp/'photos.yaml'
        cfg.write_text(f'name: photos\noutput_dir: {tmp}/out\nseed: 0\n'
                       f'data: {{name: folder, path: {tmp}/photos, valid_pct: 0.2, test_pct: 0.3}}\n'
                       'model: {arch: cpu_net}\n'
                       f'train: {{stages: [{{size: {a.size}, epochs: {a.epochs}, lr: 0.003}}], bs: 8, '
                       'augment: rrc}\n' + ('clean: {enabled: true, oof: false}\naudit: {enabled: true}\n'
                                             'evaluate: {robustness: true, max_images: 300}\n' if a.audit else
                                             'evaluate: {robustness: false}\n'))
        sides = [('in memory (it fits)', ROOT, None), ('cache file (1-byte memory budget)', ROOT, 1),
                 (f'{a.before} (1-byte memory budget)', checkout(a.before, tmp/'before'), 1)]
        caches = [tmp/f'cache{i}' for i in range(len(sides))]
        first = [run_side(tree, cfg, c, b) for (_, tree, b), c in zip(sides, caches)] # checks, decodes
        timed = [[] for _ in sides]
        for _ in range(repeats):
            for k, ((name, tree, b), c) in enumerate(zip(sides, caches)):
                drop_page_cache(c)
                timed[k].append(run_side(tree, cfg, c, b))
                print(name, timed[k][-1])
    med = lambda rs, key: statistics.median(r[key] for r in rs)
    rows = [dict(side=name, placed=rs[0]['placed'], first_s=f['wall_s'], wall_s=med(rs, 'wall_s'),
                 train_s=med(rs, 'train_s'), per_epoch_s=med(rs, 'train_s') / a.epochs,
                 peak_gib=max(r['peak_gib'] for r in rs), anon_gib=max(r['anon_gib'] for r in rs),
                 test_acc=rs[0]['test_acc'])
            for (name, _, _), f, rs in zip(sides, first, timed)]
    cols = [('side', 'side'), ('placed', 'what the run said'), ('first_s', 'first run s'),
            ('wall_s', 'later run s'), ('train_s', 'train stage s'), ('per_epoch_s', 's per epoch'),
            ('peak_gib', 'peak memory GiB'), ('anon_gib', 'peak anonymous memory GiB'),
            ('test_acc', 'test accuracy')]
    mem, disk, old = rows
    kind = 'HEIC quality 80' if a.format == 'heic' else 'JPEG quality 90'
    stages = ('train, clean (in-sample), audit (pixel features), robustness (300 test images)' if a.audit else
              'train stage only')
    notes = [f'{a.photos} photos {hw[0]}x{hw[1]} (stored turned, EXIF 6), {kind}, {mb:,.0f} MiB; '
             f'cpu_net at {a.size} px, {a.epochs} epochs, rrc, batch 8; {stages}, no report',
             f"train stage: cache file {disk['train_s']:.1f} s, in memory {mem['train_s']:.1f} s, "
             f"{a.before} {old['train_s']:.1f} s",
             'peak memory: the largest resident set of the run process (the mapped cache file\'s pages in it '
             'count, which the kernel can drop); peak anonymous memory: its RssAnon sampled every 50 ms, '
             'what it cannot (fastai\'s worker processes not counted)',
             'later runs: the median of the timed runs; the first run checks every photo (and, for the two '
             'fast-path sides, decodes it once into the cache)',
             'the cache file was dropped from the page cache before each timed run: its first epoch reads it '
             'from the disk; later epochs may find it in the page cache (a folder really larger than memory '
             'would read more of each epoch from the disk)',
             f'{time.time() - t_all:.0f} s in all']
    return runs_results(a, 'A folder of photos larger than the memory budget: in memory, the cache file, '
                        f'commit {a.before}', rows, cols, notes)

if __name__ == '__main__': main()

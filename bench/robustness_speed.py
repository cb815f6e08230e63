"""The robustness stage on a folder of photos: its time on an earlier commit and on this checkout, side by
side, and the blur alone: torchvision's 2-D `gaussian_blur` vs noisyfast's two matrix products, per severity.

Since 2026-12-01 the `blur` perturbation is computed as two matrix products (`noisyfast.evaluate._blur`)
instead of torchvision's k×k convolution, whose cost grows with the square of the kernel: at 299x224 the
kernel is 85 px at severity 5. Both compute the same Gaussian blur; the tables give the largest difference
of a pixel, the share of uint8 pixels that round differently, and the runs' robustness tables side by side.
With --audit the runs also have the clean (in-sample) and audit stages: since 2026-12-01 the audit's image
checks (`noisyfast.audit.image_checks`) read the photos once and share their grey levels, channel extremes,
sharpness and entropy between the property checks and the atypical statistics.

    python bench/robustness_speed.py                 # ef9e6b0 (before) vs this checkout, 600 test images
    python bench/robustness_speed.py --audit --before 7560652 --out cpu-robustness-speed-audit  # + audit
    python bench/robustness_speed.py --photos 40 --smoke   # a quick check of the script itself

Each side runs `python -m noisyfast run` in its own process with its own package (PYTHONPATH) and cache
folder: one epoch of `cpu_net`, no cleaning, the robustness stage on the test images; a first run (checks and
decodes the photos), then `--repeats` timed runs, the sides alternating. Writes
results/cpu-robustness-speed.md (.json).
"""
from __future__ import annotations
import argparse, json, math, statistics, sys, tempfile, time
from pathlib import Path
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, tree_env, write_results
from larger_than_memory import watched_run
from loader_ab import checkout
from photos import make_photos
from noisyfast.report import md_table

ROOT = Path(__file__).resolve().parent.parent

def run_once(tree:Path, cfg:Path, cache:Path) -> dict:
    "Wall time, peak memory, the robustness (and audit) stage's seconds and results, test accuracy of a run"
    wall, anon, _ = watched_run(tree, cfg, tree_env(tree, cache), ['-m', 'noisyfast'])
    run = cfg.parent/'out'/cfg.stem
    m = json.loads((run/'metrics.json').read_text())
    return dict(wall_s=wall, anon_gib=anon / 2**30, robustness_s=m['robustness']['seconds'],
                images=m['robustness']['images'], test_acc=m['train']['test_accuracy'],
                table=pd.read_csv(run/'robustness.csv'), audit_s=m.get('audit', {}).get('seconds'),
                flags=m.get('audit', {}).get('issues'))

def blur_rows(n:int, hw:tuple, severities) -> list:
    "Seconds to blur `n` float images h×w at each severity: torchvision's 2-D blur vs `_blur`; their gap"
    import torch
    import torchvision.transforms.v2.functional as TF
    from noisyfast.evaluate import PERTURBATIONS, _blur
    x, rows = torch.rand(n, 3, *hw, generator=torch.Generator().manual_seed(0)), []
    for s in severities:
        sigma32 = PERTURBATIONS['blur'].levels[s - 1]
        sig = sigma32 * min(hw) / 32
        k = min(2 * math.ceil(3 * sig) + 1, 2 * min(hw) - 1)
        t0 = time.perf_counter(); ref = TF.gaussian_blur(x, [k, k], [sig, sig]); t1 = time.perf_counter()
        out = _blur(x, sigma32, None); t2 = time.perf_counter()
        u8 = lambda v: (v * 255).round().clamp(0, 255)
        rows.append(dict(severity=s, sigma_px=sig, kernel=k, torchvision_s=t1 - t0, matrix_s=t2 - t1,
                         speedup=(t1 - t0) / (t2 - t1), max_diff=float((out - ref).abs().max()),
                         u8_differ=float((u8(out) != u8(ref)).float().mean())))
    return rows

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--before', default='ef9e6b0', help='the earlier commit (2-D blur)')
    p.add_argument('--photos', type=int, default=2000, help='photos (2 classes); 30 %% are test images')
    p.add_argument('--hw', default='600x450', help="the photos' height x width (as shown)")
    p.add_argument('--size', type=int, default=112, help='the training size: photos are decoded at twice it')
    p.add_argument('--images', type=int, default=600, help='test images the robustness stage perturbs')
    p.add_argument('--repeats', type=int, default=2, help='timed runs per side, after a first run')
    p.add_argument('--audit', action='store_true',
                   help='the clean (in-sample) and audit stages too: image checks on the decoded photos')
    p.add_argument('--smoke', action='store_true', help='small photos (300x200), 1 repeat: the script only')
    p.add_argument('--out', default='cpu-robustness-speed', help='results stem under bench/results/')
    a = p.parse_args(argv)
    t_all, hw = time.time(), (300, 200) if a.smoke else tuple(int(v) for v in a.hw.split('x'))
    repeats = 1 if a.smoke else a.repeats
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_photos(tmp/'photos', a.photos, hw)
        cfg = tmp/'photos.yaml'
        cfg.write_text(f'name: photos\noutput_dir: {tmp}/out\nseed: 0\n'
                       f'data: {{name: folder, path: {tmp}/photos, valid_pct: 0.2, test_pct: 0.3}}\n'
                       'model: {arch: cpu_net}\n'
                       f'train: {{stages: [{{size: {a.size}, epochs: 1, lr: 0.003}}], bs: 32}}\n'
                       f'evaluate: {{robustness: true, max_images: {a.images}}}\n' +
                       ('clean: {enabled: true, oof: false}\naudit: {enabled: true}\n' if a.audit else
                        'clean: {enabled: false}\n'))
        sides = [(a.before, checkout(a.before, tmp/'before')), ('this checkout', ROOT)]
        caches = [tmp/f'cache{i}' for i in range(len(sides))]
        first = [run_once(tree, cfg, c) for (_, tree), c in zip(sides, caches)] # checks, decodes
        timed = [[] for _ in sides]
        for i in range(repeats):
            for k in (range(len(sides)) if i % 2 == 0 else reversed(range(len(sides)))):
                timed[k].append(run_once(sides[k][1], cfg, caches[k]))
                print(sides[k][0], {k: v for k, v in timed[k][-1].items() if k != 'table'}, flush=True)
        decoded = sorted(f.name for f in caches[1].rglob('*.u8'))
    med = lambda rs, key: statistics.median(r[key] for r in rs)
    rows = [dict(side=name, first_s=f['wall_s'], wall_s=med(rs, 'wall_s'),
                 robustness_s=med(rs, 'robustness_s'), anon_gib=max(r['anon_gib'] for r in rs),
                 images=rs[0]['images'], test_acc=rs[0]['test_acc'],
                 mean_robust_acc=float(rs[0]['table'].accuracy.mean()),
                 **(dict(audit_s=med(rs, 'audit_s'), flags=rs[0]['flags']) if a.audit else {}))
            for (name, _), f, rs in zip(sides, first, timed)]
    old, new = (rs[0]['table'] for rs in timed)
    gap = (old.accuracy - new.accuracy).abs()
    both = old[['kind', 'severity', 'accuracy']].rename(columns=dict(accuracy='before')).assign(
        now=new.accuracy, right_gap=(gap * rows[1]['images']).round().astype(int))
    short = 2 * a.size if not a.smoke else 64
    bhw = tuple(round(short * v / min(hw)) for v in hw) # the decode size: twice the training size
    nb = 32 if a.smoke else 256
    blur = blur_rows(nb, bhw, (1, 3, 5))
    cols = [('side', 'side'), ('first_s', 'first run s'), ('wall_s', 'later run s'),
            ('robustness_s', 'robustness stage s'), ('anon_gib', 'peak anonymous memory GiB'),
            ('images', 'test images'), ('test_acc', 'test accuracy'),
            ('mean_robust_acc', 'mean accuracy over the robustness table')] + (
            [('audit_s', 'audit stage s'), ('flags', 'audit: images flagged per issue')] if a.audit else [])
    bcols = [('severity', 'severity'), ('sigma_px', 'σ px'), ('kernel', 'kernel px'),
             ('torchvision_s', 'torchvision 2-D s'), ('matrix_s', 'two matrix products s'),
             ('speedup', 'speed-up'), ('max_diff', 'largest difference'),
             ('u8_differ', 'share of uint8 pixels that differ')]
    tcols = [('kind', 'kind'), ('severity', 'severity'), ('before', a.before), ('now', 'this checkout'),
             ('right_gap', 'right answers differ by')]
    stages = 'the clean (in-sample: clean.oof false) and audit stages' if a.audit else 'no cleaning'
    notes = [f'{a.photos} photos {hw[0]}x{hw[1]} of 2 CIFAR-10 classes (JPEG), cpu_net at {a.size} px for 1 '
             f'epoch, {stages}; the robustness stage on {rows[1]["images"]} test images x 30 '
             f'perturbations; the decoded images: {", ".join(decoded) or "(in memory only)"}',
             f"robustness stage: {rows[0]['robustness_s']:.1f} s ({a.before}) -> "
             f"{rows[1]['robustness_s']:.1f} s (this checkout), "
             f"{rows[0]['robustness_s'] / rows[1]['robustness_s']:.2f}x",
             f'robustness tables: {int((gap > 0).sum())} of {len(gap)} rows differ, by at most '
             f'{int(both.right_gap.max())} right answer(s)',
             *([f"audit stage (clean.oof false: pixel features): {rows[0]['audit_s']:.1f} s ({a.before}) -> "
                f"{rows[1]['audit_s']:.1f} s (this checkout); the same images flagged per issue: "
                f"{rows[0]['flags'] == rows[1]['flags']}"] if a.audit else []),
             'later runs: the median of the timed runs, the sides alternating which goes first',
             f'{time.time() - t_all:.0f} s in all']
    sections = [('Runs', md_table(rows, cols, fmt=cell)),
                (f'Blur alone: {nb} float images {bhw[0]}x{bhw[1]}, one call each',
                 md_table(blur, bcols, fmt=cell)),
                ('Robustness tables side by side', md_table(both.to_dict('records'), tcols, fmt=cell))]
    if a.smoke: print('\n\n'.join(['\n'.join(notes)] + [b for _, b in sections]))
    else: write_results(a.out, f"The robustness{' and audit stages' if a.audit else ' stage'} on photos: "
                        f'commit {a.before} vs this checkout',
                        settings=vars(a), notes=notes, sections=sections,
                        data=dict(rows=rows, blur=blur, tables=both.to_dict('records')))
    return dict(rows=rows, blur=blur, tables=both)

if __name__ == '__main__': main()

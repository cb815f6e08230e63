"""Test accuracy of the noisy-label methods side by side: one row per noise setting, one column per method,
the same data, seeds, network and epoch budget in every cell of a row. Each cell is one
`noisyfast.pipeline.run` of a shipped config with overrides.

  ce       plain cross-entropy on the given labels (train stage only)
  robust   the same with the GCE loss (q 0.7, Zhang & Sabuncu 2018)
  prune    the current recipe: 4-fold out-of-fold cleanlab prune, then a final training on the rest
  divide   the prune recipe's clean stage + `divide.enabled: true` (semi-supervised on the flagged labels);
           in a missing-labels row: `divide.enabled` alone, no clean stage (FixMatch on the unlabeled pool,
           every given label trusted); "n/a" when this noisyfast has no `divide` config key
  pseudo   pseudo-labeling of the unlabeled pool (rows with missing labels only)
  ceiling  the same net and epochs on the true labels (noise.kind none; all labels for a missing-labels row)

  python bench/accuracy.py --scale cpu --note "..."   # 4 Fashion-MNIST / CIFAR-10N rows, <= 60 min on 2 cores
  python bench/accuracy.py --scale gpu                # CIFAR-10(N) and Imagenette rows, full data
  python bench/accuracy.py --smoke                    # the gpu scale's code path on CPU, tiny data, minutes
  python bench/accuracy.py --rows fmnist-1000-labels --out bench/results/cpu-few-labels.md   # missing labels
  python bench/accuracy.py --chart bench/results/cpu-accuracy.json    # draw a results file's chart again
"""
from __future__ import annotations
import argparse, json, shutil, sys, tempfile, time, traceback
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, versions, now, load_average, cell, write_results
from noisyfast.report import md_table

CONFIGS = ROOT/'configs'
SEED = None # --seed: the run seed of every cell (default: each config's)
EXTRA, TAG = [], None # --set / --tag: a variant of the cells (extra overrides), in run folders of its own
REPORTS = False # --reports: each cell's run writes its report.md (3-8 s of plotting on a small CPU)
NA_DIVIDE = 'n/a (divide not in this noisyfast)'
METHODS = ('ce', 'robust', 'prune', 'divide', 'pseudo', 'ceiling')
ROBUST_LOSS = 'gce'
_OFF = ['clean.enabled=false', 'final.enabled=false', 'pseudo.rounds=0', 'divide.enabled=false']
# method -> overrides applied over the row's config (the row's own overrides come first)
METHOD_OVERRIDES = {
    'ce': ['train.loss=ce', *_OFF],
    'robust': [f'train.loss={ROBUST_LOSS}', 'train.label_smoothing=0', *_OFF], # GCE takes no smoothing
    'prune': ['train.loss=ce', 'clean.enabled=true', 'clean.action=prune', 'final.enabled=true',
              'pseudo.rounds=0', 'divide.enabled=false'], # off: configs/cifar10-sym80.yaml etc. enable it
    'divide': ['train.loss=ce', 'clean.enabled=true', 'clean.action=prune', 'final.enabled=false',
               'pseudo.rounds=0', 'divide.enabled=true'], # as prune (baseline too: the same fold fingerprint)
    'pseudo': ['train.loss=ce', 'clean.enabled=false', 'final.enabled=false', 'divide.enabled=false'],
    'ceiling': ['train.loss=ce', *_OFF, 'noise.kind=none', 'noise.rate=0', 'noise.map=null',
                'noise.column=null', 'noise.matrix=null'],
}
NOISY = ('ce', 'robust', 'prune', 'divide', 'ceiling')
FEW_LABELS = ('ce', 'pseudo', 'divide', 'ceiling')
# a missing-labels row whose config trains with divide: semi-supervised, no clean stage, no baseline;
# pseudo-labeling as the config's pseudo section says, with 2 rounds
SEMI = {'divide': ['train.loss=ce', 'clean.enabled=false', 'final.enabled=false', 'pseudo.rounds=0',
                   'divide.enabled=true', 'train.baseline=false'],
        'pseudo': [*METHOD_OVERRIDES['pseudo'], 'pseudo.rounds=2']}

def stages(epochs, lr, size=None, bs=None):
    "A one-stage `train.stages` override (no frozen epochs: the nets start from random weights)"
    s = dict(epochs=epochs, freeze_epochs=0, lr=lr, **({'size': size} if size else {}))
    return 'train.stages=' + json.dumps([s])

def row(config, title, n_train, overrides=(), methods=NOISY, img_s=1000, method_overrides=None):
    "A row: its config, its overrides, its methods (and any method overrides the row replaces)"
    return dict(config=config, title=title, n_train=n_train, overrides=list(overrides), methods=methods,
                img_s=img_s, method_overrides=method_overrides or {})

def method_overrides(r:dict, method:str) -> list:
    "The overrides of `method` in row `r`"
    return r.get('method_overrides', {}).get(method, METHOD_OVERRIDES[method])

# CPU: noisyfast's cpu_net (notebook 12), 10,000 labelled images (9,000 train + 1,000 valid), 5 epochs; the
# whole test set. About 1,500 img/s on 2 idle cores; the estimate assumes 1,000 (a shared machine).
CPU_EPOCHS, CPU_N, CPU_LR = 5, 10_000, 0.02
_cpu = [f'data.max_train={CPU_N}', 'model.arch=cpu_net', 'train.bs=256', f'clean.epochs={CPU_EPOCHS}',
        'clean.folds=4', 'evaluate.robustness=false']
CPU_ROWS = {
    'fmnist-sym50': row('fashion-mnist-sym50', 'Fashion-MNIST, symmetric 50 %', 9000,
                        _cpu + [stages(CPU_EPOCHS, CPU_LR)]),
    'fmnist-sym80': row('fashion-mnist-sym50', 'Fashion-MNIST, symmetric 80 %', 9000,
                        _cpu + ['noise.rate=0.8', stages(CPU_EPOCHS, CPU_LR)]),
    'fmnist-asym40': row('fashion-mnist-asym40', 'Fashion-MNIST, asymmetric 40 % (look-alike classes)', 9000,
                         _cpu + [stages(CPU_EPOCHS, CPU_LR)]),
    'cifar10n-worst': row('cifar10n-worst', 'CIFAR-10N worst (40.2 % noisy), 10,000-image slice', 9000,
                          _cpu + [stages(CPU_EPOCHS, CPU_LR, size=32)]),
    # missing labels: the config as shipped (1,000 labels of a 10,000-image slice, bs 64, 20 epochs; pseudo
    # rounds of 5 epochs over labeled + pool); the ceiling has all 10,000 labels
    'fmnist-1000-labels': row('fashion-mnist-1000-labels', 'Fashion-MNIST, 1,000 labels + 9,000 unlabeled',
                              900, ['evaluate.robustness=false'], methods=FEW_LABELS, method_overrides=SEMI),
}
# GPU: the shipped configs as they are (their nets, epochs, clean folds and epochs), full data
GPU_ROWS = {
    'cifar10n-worst': row('cifar10n-worst', 'CIFAR-10N worst (40.2 % noisy)', 45000, img_s=15000),
    'cifar10n-aggre': row('cifar10n-aggre', 'CIFAR-10N aggre (9.0 % noisy)', 45000, img_s=15000),
    'cifar10-sym50': row('cifar10-sym50', 'CIFAR-10, symmetric 50 %', 45000, img_s=15000),
    'cifar10-sym80': row('cifar10-sym80', 'CIFAR-10, symmetric 80 %', 45000, img_s=15000),
    'cifar10-asym40': row('cifar10-asym40', 'CIFAR-10, asymmetric 40 %', 45000,
                          ['clean.action=prune', 'clean.relabel_threshold=0'], img_s=15000),
    'cifar10-4000': row('cifar10-4000-labels', 'CIFAR-10, 4,000 labels', 3200, methods=FEW_LABELS,
                        img_s=15000, method_overrides=SEMI),
    'imagenette50-5ep': row('imagenette-noisy50-128px', 'Imagenette 128 px, 50 % noisy, 5 epochs', 8500,
                            img_s=2500),
    'imagenette50-20ep': row('imagenette-noisy50-128px-20ep', 'Imagenette 128 px, 50 % noisy, 20 epochs',
                             8500, img_s=2500),
}
# smoke: the gpu rows on tiny data, one epoch, 2 folds, the CPU net, small images
SMOKE = ['data.max_train=240', 'data.max_test=100', 'model.arch=cpu_net', 'train.bs=32', 'clean.folds=2',
         'clean.epochs=1', 'evaluate.robustness=false', 'pseudo.epochs=1', 'train.stages.epochs=1',
         'train.stages.freeze_epochs=0', 'train.stages.size=32', 'train.stages.lr=0.01']
SMOKE_ROW = {'cifar10-4000': ['data.max_train=400', 'data.n_labeled=200', 'pseudo.rounds=1']}

def divide_known() -> bool:
    "Whether this noisyfast has the divide-and-learn stage (a `divide.*` config key)"
    from noisyfast.config import config_keys
    return any(k.split('.')[0] == 'divide' for k in config_keys())

def scale_rows(scale:str, smoke:bool) -> dict:
    "name -> row of `scale` ('cpu' or 'gpu'); with `smoke`, the rows shrunk to tiny data"
    rows = {k: dict(v) for k, v in (CPU_ROWS if scale == 'cpu' else GPU_ROWS).items()}
    if smoke:
        for k, r in rows.items():
            r.update(overrides=r['overrides'] + SMOKE + SMOKE_ROW.get(k, []), n_train=200, img_s=300)
    return rows

def cell_config(name:str, r:dict, method:str, runs:Path):
    "The loaded config of one cell: the row's config, the row's overrides, the method's, the output folder"
    from noisyfast.config import load_config
    tag = f'-{TAG}' if TAG else ''
    ovr = r['overrides'] + method_overrides(r, method) + EXTRA + [f'name={name}-{method}{tag}',
                                                                  f'output_dir={runs}']
    if SEED is not None: ovr.append(f'seed={SEED}')
    if method == 'ceiling': ovr.append('data.n_labeled=null') # every label of a missing-labels row
    cfg = load_config(CONFIGS/f"{r['config']}.yaml", ovr)
    if method == 'divide': # the same epoch budget as the other columns: the train stages' epochs
        ovr.append(f'divide.epochs={sum(s.epochs + s.freeze_epochs for s in cfg.train.stages)}')
        cfg = load_config(CONFIGS/f"{r['config']}.yaml", ovr)
    return cfg, ovr

def check_loss(cfg, name:str, method:str):
    "Refuse, before anything runs, a cell whose loss settings the loss would refuse at its first training"
    from noisyfast.train import train_loss
    try: train_loss(cfg.train, 10)
    except Exception as e:
        raise SystemExit(f'row {name}, method {method}: {e}; fix the row or METHOD_OVERRIDES in {__file__}')

def image_epochs(cfg, n:int) -> float:
    "Rough images x epochs one run trains: train stage, clean folds, final, pseudo rounds"
    e = sum(s.epochs + s.freeze_epochs for s in cfg.train.stages)
    tot = n * e
    if cfg.clean.enabled: tot += (cfg.clean.folds - 1) * n * (cfg.clean.epochs or e)
    if cfg.final.enabled: tot += n * e
    if cfg.pseudo.rounds: tot += cfg.pseudo.rounds * 15 * n * (cfg.pseudo.epochs or e) # + the pool (~14x)
    if getattr(cfg, 'divide', None) is not None and getattr(cfg.divide, 'enabled', False): tot += n * e
    return tot

def plan(rows:dict, methods:list, runs:Path, divide:bool) -> list:
    "Every cell as (row, method, config or None, overrides, estimated seconds); every config checked first"
    cells = []
    for name, r in rows.items():
        for m in methods:
            if m not in r['methods']: continue
            if m == 'divide' and not divide: cells.append((name, m, None, [], 0.)); continue
            cfg, ovr = cell_config(name, r, m, runs)
            check_loss(cfg, name, m)
            cells.append((name, m, cfg, ovr, image_epochs(cfg, r['n_train']) / r['img_s']))
    return cells

def last_stage(metrics:dict):
    "The last stage that has a test accuracy (stages are written to metrics.json as they finish)"
    return next(((k, v) for k, v in reversed(list(metrics.items()))
                 if isinstance(v, dict) and 'test_accuracy' in v), (None, {}))

def finished(cfg) -> bool:
    "Whether the cell's run folder holds a finished run of this very config (then read back, not re-run)"
    from noisyfast.runs import RunFolder, config_changes
    rf = RunFolder.of(cfg)
    if not (rf.has('config') and rf.has('metrics')): return False
    if 'total_seconds' not in rf.read('metrics'): return False # written when a run ends
    return not config_changes(rf.read('config') or {}, cfg)

def cell_fingerprint(cfg) -> str:
    "The fingerprint the cell's clean stage gives its fold files (`noisyfast.clean.fold_fingerprint`)"
    from noisyfast.clean import fold_fingerprint, kfold_indices
    from noisyfast.noise import make_data
    data, _ = make_data(cfg)
    folds = kfold_indices(data.train.y, cfg.clean.folds, cfg.seed)
    return fold_fingerprint(cfg, data, data.train, folds, cfg.seed)

def fold_source(cfg, name:str):
    "The row's fold files to start from: a prune cell's (untagged first, then tagged), or a divide cell's"
    from noisyfast.runs import RunFolder
    runs = Path(cfg.output_dir)
    cells = [runs/f'{name}-prune', *sorted(runs.glob(f'{name}-prune-*')), # `--tag T`: <row>-prune-T
             *sorted(p for p in runs.glob(f'{name}-divide*') if p.name != cfg.name)]
    oofs = [o for o in (RunFolder(d).stage_dir('clean')/'oof' for d in cells) if o.is_dir()]
    if not oofs: return None
    fp, fps = cell_fingerprint(cfg), [o/'fingerprint.txt' for o in oofs]
    # a stale prune cell (the config gained keys since): the clean stage recomputes its folds, with a warning
    return next((o for o, f in zip(oofs, fps) if f.is_file() and f.read_text().strip() == fp), oofs[0])

def seed_folds(cfg, name:str, method:str):
    "Start the cell afresh; a divide cell starts from its row's out-of-fold probabilities (`fold_source`)"
    from noisyfast.runs import RunFolder
    rf = RunFolder.of(cfg).prepare(cfg, overwrite=True)
    src = fold_source(cfg, name) if method == 'divide' else None
    if src is None: return None
    # the fold files and their fingerprint (noisyfast.clean reuses them only when the fingerprint matches:
    # same data, model, train settings, seed, folds and fold epochs); not the fold models' checkpoints
    shutil.copytree(src, rf.stage_dir('clean')/'oof', ignore=lambda d, names: [n for n in names
                                                                             if (Path(d)/n).is_dir()])
    return src.parent.parent.name

def run_cell(name, method, cfg, log, fresh:bool=False) -> dict:
    "Run one cell; its test accuracy, stage, detection precision / recall, seconds (or the error)"
    from noisyfast.pipeline import run
    out = dict(row=name, method=method, run=str(Path(cfg.output_dir)/cfg.name))
    t0, echo = time.time(), lambda s: print(s, file=log, flush=True)
    try:
        if not fresh and finished(cfg): # read back: the run folder holds this cell's finished run
            from noisyfast.runs import RunFolder
            metrics, out['reused'] = RunFolder.of(cfg).read('metrics'), True
        else:
            out['folds_from'] = seed_folds(cfg, name, method)
            metrics = run(cfg, resume=True, progress=False, echo=echo, report=REPORTS)
    except Exception as e:
        traceback.print_exc(file=log)
        return dict(out, error=f'{type(e).__name__}: {e}'.splitlines()[0][:300], seconds=time.time() - t0)
    stage, m = last_stage(metrics)
    det = metrics.get('clean', {}).get('detection') or {}
    return dict(out, stage=stage, test_accuracy=m.get('test_accuracy'),
                valid_accuracy=m.get('valid_accuracy'),
                flagged=metrics.get('clean', {}).get('flagged'), precision=det.get('precision'),
                recall=det.get('recall'), seconds=metrics.get('total_seconds', time.time() - t0),
                selection=metrics.get('divide', {}).get('selection'))

def pct(v): return f'{100 * v:.1f} %'

def tables(cells:list, rows:dict, methods:list) -> list:
    "Markdown sections: accuracy (and ratio to the ceiling), flagged precision / recall, seconds per cell"
    by = {(c['row'], c['method']): c for c in cells}
    acc, det, sec = [], [], []
    for name, r in rows.items():
        ceil = by.get((name, 'ceiling'), {}).get('test_accuracy')
        a, d, t = dict(row=r['title']), dict(row=r['title']), dict(row=r['title'])
        for m in methods:
            c = by.get((name, m))
            if c is None: a[m] = d[m] = t[m] = '-'; continue
            if 'na' in c: a[m] = d[m] = t[m] = c['na']; continue
            if 'error' in c: a[m], d[m], t[m] = f"error: {c['error']}", '', f"{c['seconds']:.0f}"; continue
            acc_m = c['test_accuracy']
            a[m] = pct(acc_m) + (f' ({acc_m / ceil:.2f}x)' if ceil and m != 'ceiling' else '')
            d[m] = (f"{pct(c['precision'])} / {pct(c['recall'])} ({c['flagged']:,} flagged)"
                    if c.get('precision') is not None else '')
            t[m] = f"{c['seconds']:.0f}"
        acc.append(a); det.append(d); sec.append(t)
    cols = ['row'] + list(methods)
    dm = [m for m in methods if m in ('prune', 'divide')]
    out = [('Test accuracy of the last stage (ratio to the ceiling)', md_table(acc, cols, fmt=cell)),
           ('Seconds per cell (whole run: data, every stage, evaluation; not the report)',
            md_table(sec, cols, fmt=cell))]
    if dm and any(r[m] for r in det for m in dm): # a cell that flagged labels (not only missing-labels rows)
        out.insert(1, ('Flagged labels: precision / recall against the true labels',
                       md_table(det, ['row'] + dm, fmt=cell)))
    sel = [dict(row=r['title'], **by[(n, 'divide')]['selection']) for n, r in rows.items()
           if (by.get((n, 'divide')) or {}).get('selection')]
    if sel: out.insert(len(out) - 1, ("divide: the last epoch's selection (kept / relabeled / unlabeled "
                                      "train images; "
                           'precision and recall of the kept labels, precision of the relabels, against the '
                           "true labels; mask rate: the unlabeled images above the teacher's threshold)",
                           md_table(sel, ['row'] + [k for k in sel[0] if k != 'row'], fmt=cell)))
    return out

def chart(cells:list, rows:dict, methods:list, path:Path=None):
    "A dot plot of test accuracy: one line per row, one marker per method (the ceiling a grey bar); to `path`"
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    by = {(c['row'], c['method']): c.get('test_accuracy') for c in cells}
    names = list(rows)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.55 * len(names)))
    for m in methods:
        pts = [(100 * by[(n, m)], i) for i, n in enumerate(names) if by.get((n, m)) is not None]
        if not pts: continue
        kw = dict(marker='|', s=400, color='0.5') if m == 'ceiling' else dict(marker='o', s=45, alpha=0.85)
        ax.scatter(*zip(*pts), label=m, zorder=3, **kw)
    ax.set_yticks(range(len(names)), [rows[n]['title'] for n in names], fontsize=8)
    ax.set_ylim(len(names) - 0.5, -0.5); ax.grid(axis='x', alpha=0.3)
    ax.set_xlabel('test accuracy (%)')
    ax.legend(fontsize=8, ncol=len(methods), loc='lower center', bbox_to_anchor=(0.5, 1), frameon=False)
    fig.tight_layout()
    if path is not None: fig.savefig(path, dpi=110); plt.close(fig)
    return fig

def chart_again(results_json:Path):
    "Draw the dot plot of a results file's cells again (next to it, .png), from its .json; nothing runs"
    obj = json.loads(Path(results_json).read_text())
    st, cells = obj['settings'], obj['results']
    known = scale_rows(st['scale'], st['smoke'])
    rows = {k: known.get(k, dict(title=k)) for k in st['rows']} # a row renamed since: its name as the title
    methods = [m for m in METHODS if any(c['method'] == m for c in cells)]
    return chart(cells, rows, methods, Path(results_json).with_suffix('.png'))

def notes_for(args, divide:bool, rows:dict) -> list:
    n = [f'Methods: ce = plain cross-entropy (train stage only); robust = the {ROBUST_LOSS.upper()} loss '
         '(q 0.7), train stage only; prune = out-of-fold cleanlab prune (clean.folds folds) + final training '
         'on the rest '
         '(clean.enabled + final.enabled); divide = the prune recipe\'s baseline and clean stage + '
         'divide.enabled: true; '
         'pseudo = pseudo-labeling of the unlabeled pool; ceiling = the same net and epochs on the true '
         'labels '
         '(noise.kind none; every label for a missing-labels row).',
         f"Every cell of a row: the same data slice, seeds (run seed {42 if SEED is None else SEED}, "
         'noise seed = run seed), network, '
         'batch size and epochs; the model of each stage is the checkpoint with the best accuracy on the '
         '(noisy) '
         'validation split; test labels are only used to score the last stage.',
         "Ratio: test accuracy / the ceiling's. Flagged precision / recall: the clean stage's flagged labels "
         'against the labels that were truly wrong (metrics.json clean.detection).']
    if not divide: n.append(f'divide: {NA_DIVIDE} (no `divide.*` key in noisyfast.config.config_keys()).')
    if any(r['method_overrides'] for r in rows.values()):
        n.append('Missing-labels rows with their own method overrides (settings: rows): divide = '
                 'divide.enabled with no clean stage and no baseline (FixMatch with an EMA teacher on the '
                 "unlabeled pool, every given label trusted); pseudo = the config's pseudo section with 2 "
                 'rounds after the baseline. A divide epoch takes divide.unlabeled_ratio unlabeled batches '
                 'and a strong view per labeled batch (about 4x the compute of a plain epoch); a pseudo '
                 'round trains on labeled + pseudo-labeled images.')
    n.append("divide trains divide.epochs = the train stages' epochs (the same epoch budget; a divide epoch "
             'also takes divide.unlabeled_ratio unlabeled batches per labeled batch), and starts from the '
             "prune cell's out-of-fold probabilities of its row when that cell ran first (the same fold "
             'files: noisyfast.clean reuses them only when their fingerprint matches; when the config gained '
             'keys since the prune cell ran, from another divide cell of the row whose fingerprint matches: '
             'folds_from in the .json).')
    n.append('A cell whose run folder already held a finished run of the same config was read back, not run '
             'again (--fresh runs every cell); its seconds are those of its own run (metrics.json '
             'total_seconds).')
    if args.smoke: n.append('SMOKE RUN: tiny data, 1 epoch, the CPU net: the numbers only show that every '
                            'cell ran.')
    if args.note: n.append(args.note)
    return n

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--scale', choices=('cpu', 'gpu'), default='cpu')
    p.add_argument('--smoke', action='store_true', help='the gpu scale on tiny data on this machine, minutes')
    p.add_argument('--rows', help='comma-separated row names (default: all of the scale)')
    p.add_argument('--methods', help=f"comma-separated methods (default: all; {', '.join(METHODS)})")
    p.add_argument('--out', help='results file (.md; the .json goes next to it); default '
                   'bench/results/<cpu|gpu>-accuracy.md, smoke: bench/results/smoke-accuracy.md')
    p.add_argument('--runs', help='folder of the run folders (default trained/bench-accuracy/<scale>)')
    p.add_argument('--note', default='', help='a note for the results (e.g. "machine shared with ...")')
    p.add_argument('--fresh', action='store_true', help='run every cell again (default: a cell whose run '
                   'folder holds a finished run of the same config is read back)')
    p.add_argument('--only-finished', action='store_true', help='run nothing: tabulate the cells whose run '
                   'folders hold finished runs of their configs, the others as "not run"')
    p.add_argument('--seed', type=int, help="run seed of every cell (default: the configs'); use its own "
                   '--runs and --out')
    p.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE',
                   help='extra config overrides of every '
                   'cell (e.g. divide.threshold=0.7 with --methods divide): a variant; needs --tag and --out')
    p.add_argument('--tag', help='suffix of the run folders of a --set variant, so that they do not replace '
                   "the plain cells' (a divide variant still starts from the row's fold files: fold_source)")
    p.add_argument('--reports', action='store_true', help="each cell's report.md and plots too (3-8 s a cell "
                   'on a small CPU; default: none, `noisyfast report RUN_FOLDER` writes one later)')
    p.add_argument('--estimate', action='store_true',
                   help='print the plan and the time estimate, run nothing')
    p.add_argument('--chart', metavar='RESULTS.json',
                   help="draw a results file's chart again, from its .json (next to it, .png); run nothing")
    args = p.parse_args(argv)
    if args.chart:
        chart_again(args.chart)
        return print(f"chart -> {Path(args.chart).with_suffix('.png')}")
    global SEED, EXTRA, TAG, REPORTS
    SEED, EXTRA, TAG, REPORTS = args.seed, list(args.set), args.tag, args.reports
    if EXTRA and not (TAG and args.out): p.error('--set makes a variant: give --tag (its run folders) and '
                                                 '--out (its results file) too')
    scale = 'gpu' if args.smoke else args.scale
    rows = scale_rows(scale, args.smoke)
    if args.rows:
        bad = [r for r in args.rows.split(',') if r not in rows]
        if bad: p.error(f"unknown row(s) {', '.join(bad)} for --scale {scale}; choose from {', '.join(rows)}")
        rows = {k: rows[k] for k in args.rows.split(',')}
    methods = args.methods.split(',') if args.methods else list(METHODS)
    if bad := [m for m in methods if m not in METHODS]: p.error(f"unknown method(s) {', '.join(bad)}; "
                                                            f"choose from {', '.join(METHODS)}")
    methods = [m for m in METHODS if m in methods and any(m in r['methods'] for r in rows.values())]
    import torch
    device = 'gpu' if torch.cuda.is_available() else 'cpu'
    kind = 'smoke' if args.smoke else scale
    stem = 'smoke-accuracy' if args.smoke else f'{device}-accuracy' + ('' if device == scale else f'-{scale}')
    out = Path(args.out) if args.out else Path(__file__).parent/'results'/f'{stem}.md'
    runs = Path(args.runs) if args.runs else ROOT/'trained'/'bench-accuracy'/kind
    divide = divide_known()
    cells = plan(rows, methods, runs.resolve(), divide)
    est = sum(c[4] for c in cells)
    print(f'{len(cells)} cells ({len(rows)} rows x {len(methods)} methods), run folders in {runs}')
    for name, m, cfg, _, s in cells:
        print(f'  {name:18} {m:8} ' + (NA_DIVIDE if cfg is None else f'~{s / 60:.1f} min'))
    print(f"estimate: ~{est / 60:.0f} min of training at the rows' assumed img/s (plus data loading, "
          'evaluation' + ' and reports' * REPORTS + ')', flush=True)
    if args.estimate: return
    runs.mkdir(parents=True, exist_ok=True)
    info = dict(date=now(), machine=machine(), versions=versions())
    results, t0 = [], time.time()
    def write(done:bool): # after every cell, so an interrupted run leaves the cells it finished
        info['machine']['load_average_at_end'] = load_average()
        settings = dict(scale=scale, smoke=args.smoke, rows={k: dict(config=f"configs/{r['config']}.yaml",
                        overrides=r['overrides'], method_overrides=r['method_overrides'])
                        for k, r in rows.items()}, seed=args.seed, extra_overrides=EXTRA, tag=TAG,
                        method_overrides={m: METHOD_OVERRIDES[m] for m in methods}, robust_loss=ROBUST_LOSS,
                        divide_known=divide, runs=str(runs), estimate_min=round(est / 60, 1),
                        total_seconds=round(time.time() - t0), complete=done)
        notes = notes_for(args, divide, rows) + ([] if done else
                                                 [f'INCOMPLETE: {len(results)} of {len(cells)} cells.'])
        if nr := sum(r.get('na') == 'not run' for r in results):
            notes.append(f'PARTIAL: {nr} of {len(cells)} cells have not been run yet ("not run" in the '
                         'tables).')
        return write_results(out.stem, f'Accuracy of the noisy-label methods, {kind} scale',
                             settings=settings, sections=tables(results, rows, methods), notes=notes,
                             data=results, info=info,
                             folder=out.parent)
    with open(runs/'log.txt', 'a') as log:
        for name, m, cfg, ovr, _ in cells:
            if cfg is None: results.append(dict(row=name, method=m, na=NA_DIVIDE)); continue
            if args.only_finished and not finished(cfg):
                results.append(dict(row=name, method=m, na='not run')); continue
            c = run_cell(name, m, cfg, log, fresh=args.fresh)
            results.append(dict(c, overrides=ovr, config=rows[name]['config']))
            print(f"  {name:18} {m:8} " + (f"error: {c['error']}" if 'error' in c else
                  f"{pct(c['test_accuracy'])} ({c['stage']}) in {c['seconds']:.0f} s"), flush=True)
            write(False)
    f = write(True)
    if len(results) > 1: chart(results, rows, methods, f.with_suffix('.png')) # not for one variant cell
    for head, body in tables(results, rows, methods): print(f'\n{head}\n\n{body}')
    print(f'\n{len(results)} cells in {(time.time() - t0) / 60:.1f} min -> {f}')

if __name__ == '__main__': main()

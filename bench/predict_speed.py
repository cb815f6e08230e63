"""Speed of `noisyfast predict` on image files, against fastai's own way of predicting them, in one run.

A small run trains a model (one epoch of `cpu_net` on a CIFAR-10 slice, random weights: the speed is the
pipeline's, not the model's accuracy); then the same network predicts the same N test JPEG files twice:

- noisyfast: `load_run_model` + `predict_files` (threaded decoding to uint8 tensors, resizing and normalizing
  on the device, then the network), what `noisyfast predict` does;
- fastai: `learn.get_preds(dl=dls.test_dl(files))` over fastai's DataBlock (PIL per item, `Resize`,
  `Normalize`) with its default worker processes, the way a fastai user predicts files.

Each is timed `--repeats` times (median, min-max); the table also gives the agreement of the two predicted
classes and the largest difference of a probability.

  python bench/predict_speed.py                  # -> results/cpu-predict-speed.md (.json)
  python bench/predict_speed.py --n 2000 --repeats 1 --out /tmp/p.md   # a quick look
"""
from __future__ import annotations
import argparse, shutil, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, write_results
from noisyfast.report import md_table

OVERRIDES = ['data.max_train=1000', 'train.bs=256', 'model.arch=cpu_net', 'clean.enabled=false',
             'final.enabled=false', 'evaluate.robustness=false', 'noise.kind=none', 'noise.rate=0',
             'train.stages=[{"size": 32, "epochs": 1, "freeze_epochs": 0, "lr": 0.02}]']

def timed(f, repeats:int) -> tuple:
    "(result of the last call, seconds of each call)"
    secs = []
    for _ in range(repeats):
        t0 = time.perf_counter(); out = f(); secs.append(time.perf_counter() - t0)
    return out, secs

def fastai_probs(m, files, bs:int) -> np.ndarray:
    "fastai's way: a DataBlock over the files, `test_dl`, `get_preds`, with the run's model and statistics"
    from noisyfast.data import Split
    from noisyfast.loaders import fastai_dls
    s = Split([str(f) for f in files], np.zeros(len(files), np.int64), None, np.arange(len(files)), 'predict')
    learn = m.fit.learn
    learn.dls = fastai_dls(s, s, m.vocab, size=m.fit.size, bs=bs, augment='none', stats=m.fit.stats,
                           device=learn.dls.device)
    preds, _ = learn.get_preds(dl=learn.dls.test_dl([str(f) for f in files]))
    return preds.float().numpy()

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=str(ROOT/'configs'/'cifar10-sym50.yaml'))
    p.add_argument('--n', type=int, default=10_000, help='test files to predict')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'cpu-predict-speed.md'))
    a = p.parse_args(argv)
    from noisyfast.config import load_config
    from noisyfast.pipeline import make_data, run
    from noisyfast.predict import load_run_model, predict_files
    tmp = Path(tempfile.mkdtemp(prefix='predict-speed-'))
    try:
        cfg = load_config(a.config, OVERRIDES + [f'output_dir={tmp}', 'name=speed'])
        run(cfg, progress=False, quiet=True)
        data, _ = make_data(cfg)
        files = [Path(f) for f in data.test.x[:a.n]]
        (m, load_s) = timed(lambda: load_run_model(tmp/'speed'), 1)
        ours, ours_s = timed(lambda: predict_files(m, files).probs, a.repeats)
        theirs, theirs_s = timed(lambda: fastai_probs(m, files, cfg.train.bs), a.repeats)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    rows = [dict(way=w, median=med(s), lo=min(s), hi=max(s), ips=len(files) / med(s))
            for w, s in (('noisyfast predict_files', ours_s), ("fastai test_dl + get_preds", theirs_s))]
    speedup = rows[1]['median'] / rows[0]['median']
    agree = float((ours.argmax(1) == theirs.argmax(1)).mean())
    cols = [('way', 'way'), ('median', 'seconds (median)'), ('lo', 'min'), ('hi', 'max'), ('ips', 'images/s')]
    table = md_table(rows, cols, fmt=cell)
    summary = (f'{len(files):,} CIFAR-10 test JPEG files (32x32), {a.repeats} timings each; noisyfast '
               f'{speedup:.2f}x the speed of fastai; the same class for {100 * agree:.2f} % of the files, '
               f'largest probability difference {np.abs(ours - theirs).max():.2g}; loading the model from '
               f'the run folder: {load_s[0]:.2f} s')
    print(table, summary, sep='\n')
    out = Path(a.out)
    f = write_results(out.stem, 'Speed of noisyfast predict against fastai test_dl on the same files',
                      settings=dict(config=a.config, n=len(files), repeats=a.repeats, overrides=OVERRIDES),
                      data=dict(rows=rows, speedup=speedup, agreement=agree, load_seconds=load_s[0]),
                      sections=[('Predicting image files', table)], folder=out.parent,
                      notes=['One small run (cpu_net, one epoch on 1,000 CIFAR-10 images, random weights) '
                             'trains the model; both ways then predict the same files with it, one after the '
                             'other in one process, on this machine.', summary])
    print(f'-> {f}')

if __name__ == '__main__': main()

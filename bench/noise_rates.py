"""How close are the per-class noise-rate estimates to the truth? Offline, from finished runs' fold files.

The divide stage keeps, per given class, the (1 - estimated noise rate) share of the labels the out-of-fold
probabilities trust most. The 10-epoch CIFAR-10N measurements (results/cpu-accuracy-10ep*.md) found the
estimate too high there. This script trains nothing: it reads the out-of-fold probabilities a run's clean
stage left (`<run>/clean/oof/fold{k}.npy`), rebuilds the run's data and folds from its config.yaml, and
compares several estimators with the true per-class rates (the data's `y_true`).

    python bench/noise_rates.py trained/bench-accuracy/cpu/*-prune --out bench/results/cpu-noise-rates

  cleanlab_joint   cleanlab's calibrated joint: `divide.noise_estimate: calibrated` (the default until
                   2026-11-29)
  confident_joint  cleanlab's confident joint, uncalibrated: off-diagonal counts over the class size (the
                   images no class is confident about count as clean): `divide.noise_estimate: confident`,
                   the default
  prune            the share of each class cleanlab's find_label_issues flags (filter_by prune_by_noise_rate,
                   the clean stage's default)
  gmm_loss         a two-component Gaussian mixture on the per-image cross-entropy to the given label
                   (DivideMix): the share of each class in the high-loss component
"""
from __future__ import annotations
import argparse, sys
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, write_results
from noisyfast.report import md_table

def run_probs(folder:Path):
    "(given labels, true labels, out-of-fold probabilities) over a finished run's train split"
    from noisyfast.config import load_config
    from noisyfast.clean import kfold_indices
    from noisyfast.noise import make_data
    from noisyfast.runs import RunFolder, fold_file
    cfg = load_config(folder/'config.yaml')
    data, _ = make_data(cfg)
    y, oof = data.train.y, RunFolder(folder).stage_dir('clean')/'oof' # where the clean stage writes them
    probs = np.zeros((len(y), data.c), np.float32)
    for k, (_, te) in enumerate(kfold_indices(y, cfg.clean.folds, cfg.seed)):
        probs[te] = np.load(fold_file(oof, 'probs', k))
    return y, data.train.y_true, probs

def true_rates(given, y_true, c:int) -> np.ndarray:
    return np.array([(y_true[given == k] != k).mean() for k in range(c)])

def confident_joint_rates(given, probs) -> np.ndarray:
    from noisyfast.divide import estimate_noise_rates # divide.noise_estimate: confident
    return estimate_noise_rates(given, probs, calibrate=False)

def prune_rates(given, probs) -> np.ndarray:
    "Per class, the share cleanlab's `find_label_issues` flags (the clean stage's default filter_by)"
    from cleanlab.filter import find_label_issues
    flagged = find_label_issues(given, probs, filter_by='prune_by_noise_rate')
    return np.array([flagged[given == k].mean() for k in range(probs.shape[1])])

def gmm_loss_rates(given, probs, seed:int=0) -> np.ndarray:
    "Per class, the share of its images more likely in the high-loss component of a 2-Gaussian mixture"
    from sklearn.mixture import GaussianMixture
    loss = -np.log(np.clip(probs[np.arange(len(given)), given], 1e-12, 1))
    x = ((loss - loss.min()) / max(np.ptp(loss), 1e-12)).reshape(-1, 1)
    gm = GaussianMixture(2, max_iter=20, tol=1e-2, reg_covar=5e-4, random_state=seed).fit(x)
    noisy = gm.predict_proba(x)[:, gm.means_.argmax()] > 0.5
    return np.array([noisy[given == k].mean() for k in range(probs.shape[1])])

def cleanlab_joint_rates(given, probs) -> np.ndarray:
    from noisyfast.divide import estimate_noise_rates # divide.noise_estimate: calibrated
    return estimate_noise_rates(given, probs, calibrate=True)

ESTIMATORS = dict(cleanlab_joint=cleanlab_joint_rates, confident_joint=confident_joint_rates,
                  prune=prune_rates, gmm_loss=gmm_loss_rates)

def row(folder:Path) -> dict:
    "Overall rate (class-size weighted) and mean absolute per-class error of each estimator, in %"
    given, y_true, probs = run_probs(folder)
    n, t = np.bincount(given, minlength=probs.shape[1]), true_rates(given, y_true, probs.shape[1])
    r = dict(run=folder.name, images=len(given), true=100 * float((n * t).sum() / n.sum()))
    for name, f in ESTIMATORS.items():
        e = np.asarray(f(given, probs), dtype=np.float64)
        r[name] = 100 * float((n * e).sum() / n.sum())
        r[f'{name}_mae'] = 100 * float(np.abs(e - t).mean())
    return r

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+', help='finished run folders whose clean stage left its fold files')
    p.add_argument('--out', default='bench/results/cpu-noise-rates', help='results stem (.md and .json)')
    p.add_argument('--note', default='', help='a note for the results')
    a = p.parse_args(argv)
    rows = [row(Path(f)) for f in a.runs]
    cols = ['run', 'images', 'true'] + [c for n in ESTIMATORS for c in (n, f'{n}_mae')]
    table = md_table(rows, cols, fmt=cell)
    print(table)
    out = Path(a.out)
    notes = ['Overall: the class-size weighted noise rate in %; _mae: mean absolute error of the per-class '
             'rates against the true ones, in percentage points. Nothing is trained: the fold files are '
             "the runs' own.", *([a.note] if a.note else [])]
    write_results(out.name, 'Per-class noise-rate estimates against the true rates', settings=vars(a),
                  sections=[('Estimated against true noise rates (%)', table)], notes=notes,
                  data=dict(rows=rows), folder=out.parent)

if __name__ == '__main__': main()

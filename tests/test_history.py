"""history.csv of a real run holds every epoch of every training: the baseline, each pseudo-labeling round,
each fold model of the clean stage, the final model; a run killed inside the clean stage and resumed ends with
the same rows (the finished fold's curve read back from beside its fold file, no rows doubled)."""
import signal, subprocess
import numpy as np, pandas as pd
import pytest
from noisyfast.config import load_config
from noisyfast.evaluate import plot_history
from noisyfast.runs import HISTORY_KEYS, RunFolder, fold_file
from reliability_helpers import finish_cli as finish, start_cli, wait_for

CONFIG = """
seed: 0
data: {name: digits, max_train: 300, n_labeled: 200}
noise: {kind: symmetric, rate: 0.3}
model: {arch: cpu_net}
train: {stages: [{size: 16, epochs: 2, freeze_epochs: 1, lr: 0.01}], bs: 64, augment: shift}
pseudo: {rounds: 2, epochs: 3, init: previous}
clean: {enabled: true, folds: 2, epochs: 6} # fold 2 trains a while after fold 1: the kill lands in it
final: {enabled: true}
evaluate: {robustness: false}
"""
ROW = ['run_stage', 'step', 'round', 'fold', 'stage', 'phase', 'epoch'] # one epoch of one training

def start(cfg, *args): return start_cli(cfg, '--quiet', *args)

def write_config(folder):
    cfg = folder/'hist.yaml'
    cfg.write_text(CONFIG + f'output_dir: {folder}\nname: hist\n')
    return cfg

def expected_rows(cfg) -> dict:
    "Epochs per training, from the config alone: {(run_stage, step, round, fold): rows}"
    (st,), pc, cc = cfg.train.stages, cfg.pseudo, cfg.clean
    rows = {('train', None, None, None): st.epochs} # from random init: no frozen phase
    for r in range(1, pc.rounds + 1): # init: previous, so from trained weights: a frozen phase first
        rows['pseudo', None, r, None] = st.freeze_epochs + (pc.epochs or st.epochs)
    for k in range(1, cc.folds + 1): rows['clean', None, None, k] = cc.epochs or st.epochs
    rows['final', None, None, None] = st.epochs
    return rows

def keys(h:pd.DataFrame) -> list:
    "Each row's (run_stage, step, round, fold, stage, phase, epoch), empty keys as None, in file order"
    return [tuple(None if pd.isna(v) else v.item() if hasattr(v, 'item') else v for v in r)
            for r in h[ROW].itertuples(index=False)]

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "The run, uninterrupted"
    tmp = tmp_path_factory.mktemp('hist')
    finish(start(write_config(tmp)))
    return tmp/'hist'

def test_every_training_has_its_epochs(reference):
    rf = RunFolder(reference)
    cfg, h = load_config(rf.file('config')), rf.read('history')
    assert list(h.columns[-4:]) == [*HISTORY_KEYS[1:], 'run_stage']
    per = {k[:4]: 0 for k in keys(h)}
    for k in keys(h): per[k[:4]] += 1
    assert per == expected_rows(cfg) # insertion order too: train, both rounds, both folds, final
    for k in range(cfg.clean.folds): # each fold's rows are that fold model's own history, kept beside it
        own = pd.read_csv(fold_file(reference/'clean'/'oof', 'history', k))
        assert np.array_equal(h[h.fold == k + 1].valid_loss.to_numpy(), own.valid_loss.to_numpy())
    fig = plot_history(pd.read_csv(rf.file('history'))) # the file as it is: metrics only, segments
    assert [ax.get_ylabel() for ax in fig.axes] == ['train_loss', 'valid_loss', 'accuracy']
    assert [t.get_text() for t in fig.axes[0].texts] == ['train', 'pseudo\nround 1', 'pseudo\nround 2',
                                                          f'clean\n{cfg.clean.folds} folds', 'final']

def test_killed_in_clean_then_resumed_has_the_same_rows(reference, tmp_path):
    cfg, folder = write_config(tmp_path), tmp_path/'hist'
    p = start(cfg)
    wait_for(p, fold_file(folder/'clean'/'oof', 'probs', 0)) # fold 1 done: killed inside the clean stage
    p.send_signal(signal.SIGKILL); p.wait()
    rf = RunFolder(folder)
    assert 'clean' not in rf.read('state')['done']
    kept = fold_file(folder/'clean'/'oof', 'history', 0)
    seen = kept.stat().st_mtime_ns
    finish(start(cfg, '--resume'))
    assert kept.stat().st_mtime_ns == seen # fold 1 was read back, not trained again ...
    h, ref = rf.read('history'), RunFolder(reference).read('history')
    assert keys(h) == keys(ref) # ... and its curve is in history.csv all the same; no stage's rows doubled

"Divide without a clean stage (semi-supervised learning for missing labels) through `noisyfast run`"
import json
from pathlib import Path
import pandas as pd
from reliability_helpers import main_inproc, assert_user_error

CONFIG = Path(__file__).resolve().parent.parent/'configs'/'fashion-mnist-1000-labels.yaml'

def test_run_keeps_every_label_and_learns_the_pool(tmp_path, archive):
    "The shipped config, shrunk: every given label kept every epoch, the pool learned, and the run says so"
    rc, out, err, _ = main_inproc('run', CONFIG, f'output_dir={tmp_path}', 'data.max_train=600',
                                  'data.n_labeled=150', 'data.max_test=200', 'train.baseline=false',
                                  'divide.epochs=2', 'divide.warmup=1', 'divide.threshold=0.5',
                                  'evaluate.robustness=false')
    assert rc == 0, out[-2000:] + err[-3000:]
    run = tmp_path/'fashion-mnist-1000-labels'
    d = json.loads((run/'data.json').read_text())['data']
    n_train, n_pool = d['train'], d['unlabeled']
    assert (d['train'] + d['valid'], n_pool) == (150, 450) # 150 labels in all; 600 - 150 without
    said = f'no clean stage, so all {n_train} given labels are trusted and kept every epoch'
    assert said in out, out[-3000:]
    assert f'FixMatch learns the {n_pool} unlabeled images' in out
    m = json.loads((run/'metrics.json').read_text())
    sel = m['divide']['selection']
    assert sel['kept'] == n_train and sel['unlabeled'] == 0, sel
    assert sel['kept_precision'] == 1.0 # clean labels: every kept label is right
    st = pd.read_csv(run/'divide'/'stats.csv')
    assert st.kept.tolist() == [n_train] * 2 and st.pool.tolist() == [n_pool] * 2 and st.moved.sum() == 0
    assert st.mask_rate.iloc[-1] > 0, st # threshold 0.5: part of the pool is learned
    assert 'test_accuracy' in m['divide']

def test_noisy_labels_without_clean_are_refused(tmp_path):
    "divide alone would trust every noisy label: a message before anything runs"
    rc, out, err, _ = main_inproc('run', CONFIG, f'output_dir={tmp_path}', 'noise.kind=symmetric',
                                  'noise.rate=0.3')
    assert_user_error(rc, err, "noise.kind is 'symmetric': the labels are noisy", 'set clean.enabled: true')
    assert not any(tmp_path.iterdir())

def _after_pseudo(tmp_path, more:str) -> tuple:
    ("A digits run (400 labels, 30 % noisy) with a pseudo round and a clean stage, then `more` (YAML): its "
     "folder, what it printed, data.json's counts")
    import yaml
    cfg = yaml.safe_load('name: pcd\ndata: {name: digits, n_labeled: 400}\n'
                         'noise: {kind: symmetric, rate: 0.3}\nmodel: {arch: cpu_net}\n'
                         'train: {stages: [{size: 8, epochs: 1, lr: 0.01}], bs: 64}\n'
                         'pseudo: {rounds: 1, epochs: 1}\nclean: {enabled: true, folds: 2, epochs: 1}\n'
                         'evaluate: {robustness: false}')
    for k, v in yaml.safe_load(more).items(): cfg[k] = {**cfg.get(k, {}), **v}
    (tmp_path/'pcd.yaml').write_text(yaml.safe_dump(cfg))
    rc, out, err, _ = main_inproc('run', tmp_path/'pcd.yaml', f'output_dir={tmp_path}', '--no-report')
    assert rc == 0, out[-2000:] + err[-3000:]
    return tmp_path/'pcd', out, json.loads((tmp_path/'pcd'/'data.json').read_text())['data']

def test_after_pseudo_labels_divide_chooses_among_the_given_labels_only(tmp_path):
    ("pseudo, clean, divide: the clean stage also checked the pseudo-labels, but divide keeps or drops only "
     "the train split's given labels; the pool (pseudo-labeled or not) is FixMatch's, each image once")
    run, out, d = _after_pseudo(tmp_path, 'divide: {enabled: true, epochs: 1, warmup: 0}\n'
                                          'final: {enabled: false}\ntrain: {mixup: 0.2}')
    assert ('divide: trains without train.mixup (its own label-smoothed cross-entropy, strong views and '
            'divide.mixup instead)') in out
    pseudo = pd.read_csv(run/'pseudo'/'train_labels.csv') # the train split, then the pseudo-labeled pool
    assert len(pseudo) > d['train'] # the pool's pseudo-labels were checked by the clean stage too
    sel = pd.read_csv(run/'divide'/'selection.csv')
    assert sel['index'].tolist() == pseudo['index'][:d['train']].tolist() # the train split's, in order
    assert f"divide: {d['train']:,} train images with their given labels" in out, out[-3000:]
    st = pd.read_csv(run/'divide'/'stats.csv')
    assert (st.pool == st.unlabeled + d['unlabeled']).all(), st # the pool once, beside the dropped labels

def test_after_pseudo_labels_unlabeling_leaves_each_image_once(tmp_path):
    ("pseudo, clean with action unlabel, final: the pool the final stage pseudo-labels again holds each "
     "image once, none of them in its train split (the pseudo-labeled images left it, flagged ones return)")
    run, out, d = _after_pseudo(tmp_path, 'clean: {action: unlabel}\nfinal: {enabled: true}')
    checked = pd.read_csv(run/'clean'/'checked_labels.csv')
    train, pool = pd.read_csv(run/'clean'/'train_labels.csv'), pd.read_csv(run/'clean'/'unlabeled.csv')
    assert len(checked) > d['train'] # the pseudo-labels were checked too
    assert pool['index'].is_unique and not set(pool['index']) & set(train['index']), (len(pool), len(train))
    assert len(train) + len(pool) == d['train'] + d['unlabeled'] # every image once: kept, or in the pool

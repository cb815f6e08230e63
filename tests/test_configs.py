"Every shipped config is valid, and loads its data set when the archive folder is there"
import os
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from noisyfast.config import load_config
from noisyfast.noise import make_data

CONFIGS = sorted((Path(__file__).parent.parent/'configs').glob('*.yaml'))

def test_there_are_configs():
    names = {p.stem for p in CONFIGS}
    assert {'quickstart', 'cifar10n-worst', 'cifar10-sym50', 'cifar10-asym40', 'cifar10-4000-labels',
            'imagenette-noisy50-128px', 'imagenette-noisy5-128px', 'task1-pseudo', 'task2-noisy',
            'cifar10-sym80', 'imagenette-noisy50-128px-20ep', 'my-photos'} <= names

@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_is_valid(path):
    cfg = load_config(path)
    assert cfg.name == path.stem

@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_check_passes(path):
    "`noisyfast config check FILE`, as a user runs it (in this process), accepts every shipped config"
    from reliability_helpers import main_inproc
    rc, out, err, _ = main_inproc('config', 'check', path)
    assert rc == 0 and f'{path}: OK' in out + err, (rc, out, err)

def test_every_gpu_benchmark_row_has_its_config():
    "bench/accuracy.py's GPU rows start from shipped configs, each row with its own noise setting and epochs"
    import sys
    sys.path.insert(0, str(Path(__file__).parent.parent/'bench'))
    import accuracy
    names = {p.stem for p in CONFIGS}
    for k, r in accuracy.GPU_ROWS.items():
        assert r['config'] in names, (k, r['config'])
        assert not [o for o in r['overrides']
                    if o.split('=')[0] in ('noise.rate', 'train.stages.epochs')], (k, r)

@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_data_and_noise(path, archive, tmp_path):
    """The data set loads and the noise settings fit it (a 500-image subset keeps this quick); a template for
    your own folder of photos, on a folder of real images"""
    from reliability_helpers import make_folder
    small, shipped = ['data.max_train=500', 'data.max_test=100'], load_config(path)
    if shipped.data.n_labeled: small.append('data.n_labeled=100')
    if shipped.data.name == 'folder':
        small.append(f"data.path={make_folder(tmp_path/'photos', n_classes=3, per_class=240)}")
    cfg = load_config(path, small)
    data, noise = make_data(cfg)
    assert len(data.train) > 0 and len(data.test) == 100

@pytest.mark.slow
def test_my_photos_template_on_a_folder_of_photos(tmp_path, archive):
    """configs/my-photos.yaml, made small for a CPU as its comment says, on a folder of real photos
    (Fashion-MNIST trousers, sneakers and bags; 5 of them iPhone HEICs, 8 in the wrong class folder): every
    stage runs, the misplaced photos are the labels it trusts least (most of them flagged), and the audit and
    the divide stage leave their files"""
    import shutil
    from PIL import Image
    from reliability_helpers import main_inproc
    from noisyfast.data import load_source
    from noisyfast.runs import RunFolder
    src, root = load_source('fashion_mnist'), tmp_path/'photos'
    for c in (1, 7, 8):
        (root/src.vocab[c]).mkdir(parents=True)
        for k, i in enumerate(np.flatnonzero(src.test_y == c)[:80]):
            ext = 'HEIC' if k < 5 else 'png'
            Image.fromarray(src.test_x[i][..., 0]).save(root/src.vocab[c]/f'{k:03d}.{ext}')
    names = [src.vocab[c] for c in (1, 7, 8)]
    wrong = [str(shutil.move(p, root/names[1 + i % 2]/f'moved{i}.png'))
             for i, p in enumerate(sorted((root/names[0]).glob('0[1-4]*.png'))[:8])]
    rc, out, err, _ = main_inproc('run', Path(__file__).parent.parent/'configs'/'my-photos.yaml',
                                  f'data.path={root}', f'output_dir={tmp_path}/out', 'model.arch=cpu_net',
                                  'model.pretrained=false', 'train.stages.size=28', 'train.stages.epochs=4',
                                  'clean.folds=2', 'divide.epochs=3', 'train.bs=16',
                                  'evaluate.robustness=false', '--quiet')
    assert rc == 0, err
    run = RunFolder(tmp_path/'out'/'my-photos')
    checked = pd.read_csv(run.path/'clean'/'all_labels.csv') # every train image: given label, flagged
    mine = checked[checked.path.isin(wrong)] # the misplaced photos the split put in train
    assert len(checked) > 100 and len(mine) >= 4, (len(checked), len(mine))
    rank = checked.quality.rank(method='first') # 1: the label cleanlab trusts least
    assert (rank[mine.index] <= 0.15 * len(checked)).all(), (rank[mine.index], len(checked)) # the worst
    assert mine.flagged.mean() >= 0.5 and checked.flagged.mean() < 0.2, (mine, checked.flagged.mean())
    m = run.read('metrics')
    assert {'train', 'clean', 'divide'} <= set(m) and m['divide']['test_accuracy'] > 0.8, m
    assert run.file('audit_issues').exists() and run.file('report').exists()

"Every shipped config is valid, and loads its data set when the archive folder is there"
import os
from pathlib import Path
import pytest
from noisyfast.config import load_config
from noisyfast.noise import make_data

CONFIGS = sorted((Path(__file__).parent.parent/'configs').glob('*.yaml'))

def test_there_are_configs():
    names = {p.stem for p in CONFIGS}
    assert {'quickstart', 'cifar10n-worst', 'cifar10-sym50', 'cifar10-asym40', 'cifar10-4000-labels',
            'imagenette-noisy50-128px', 'imagenette-noisy5-128px', 'task1-pseudo', 'task2-noisy',
            'cifar10-sym80', 'imagenette-noisy50-128px-20ep'} <= names

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
def test_config_data_and_noise(path, archive):
    "The data set loads and the noise settings fit it (a 500-image subset keeps this quick)"
    small = ['data.max_train=500', 'data.max_test=100']
    if load_config(path).data.n_labeled: small.append('data.n_labeled=100')
    cfg = load_config(path, small)
    data, noise = make_data(cfg)
    assert len(data.train) > 0 and len(data.test) == 100

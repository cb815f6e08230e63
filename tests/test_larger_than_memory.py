"""A folder whose decoded images do not fit in memory: the run keeps them in the cache file and reads each
batch from it (`noisyfast.train.placement` 'disk', `noisyfast.loaders.MappedImages`), every stage as from
memory"""
import contextlib, json, os, subprocess, sys
from pathlib import Path
from unittest.mock import patch
import numpy as np
import pytest
from reliability_helpers import assert_user_error, main_inproc, make_folder, run_config

def _config(tmp_path, photos):
    "Every stage that reads images: baseline, clean folds, audit, divide, final, robustness"
    return run_config(tmp_path, data=dict(name='folder', path=str(photos), valid_pct=0.2, test_pct=0.2),
                      train=dict(stages=[dict(size=24, epochs=2, lr=0.01)], bs=16, augment='rrc'),
                      clean=dict(enabled=True, folds=2, epochs=1), audit=dict(enabled=True),
                      divide=dict(enabled=True, epochs=2), final=dict(enabled=True),
                      evaluate=dict(robustness=True))

def _run(cfg, out, cache, budget=None):
    "`noisyfast run` in this process with its own cache folder, memory budget `budget` bytes (None: the real)"
    with contextlib.ExitStack() as stack:
        stack.enter_context(patch.dict(os.environ, NOISYFAST_CACHE=str(cache)))
        if budget: stack.enter_context(patch('noisyfast.train.memory_budget', lambda device=None: budget))
        return main_inproc('run', cfg, f'output_dir={out}', '--quiet', '--no-report')

def _gathered(self): raise AssertionError('a split of images gathered from the cache file into memory')

def test_a_folder_larger_than_memory_trains_from_the_cache_file(tmp_path, archive):
    photos = make_folder(tmp_path/'photos', n_classes=3, per_class=30)
    cfg = _config(tmp_path, photos)
    rc, _, err, _ = _run(cfg, tmp_path/'mem', tmp_path/'cache-mem')
    assert rc == 0, err
    with patch('noisyfast.loaders.MappedImages.numpy', _gathered): # no stage holds a whole split
        rc, _, err, _ = _run(cfg, tmp_path/'disk', tmp_path/'cache-disk', budget=1000) # 90 images of 3 kB
    assert rc == 0, err
    log = (tmp_path/'disk'/'r'/'log.txt').read_text()
    cache = tmp_path/'cache-disk'/'decoded'
    assert f'do not fit in memory: each batch is read from their cache file in {cache}' in log, log
    assert '.u8 (270 KiB): training reads them from there' in log, log # not "data.cache: false turns it off"
    assert 'do not fit' not in (tmp_path/'mem'/'r'/'log.txt').read_text()
    assert list((tmp_path/'cache-disk'/'decoded').glob('own-*-train-*.u8')), 'no cache file'
    mem, disk = (json.loads((tmp_path/s/'r'/'metrics.json').read_text()) for s in ('mem', 'disk'))
    assert {'train', 'clean', 'audit', 'divide', 'final', 'robustness'} <= set(disk), disk.keys()
    for stage in ('train', 'divide', 'final'):
        assert disk[stage]['test_accuracy'] == pytest.approx(mem[stage]['test_accuracy'], abs=1e-6), stage
    for stage, key in (('clean', 'flagged'), ('clean', 'fold_accuracy'), ('audit', 'health'),
                       ('audit', 'issues'), ('divide', 'selection')): # the same images: the same numbers
        assert disk[stage][key] == mem[stage][key], (stage, key, disk[stage][key], mem[stage][key])
    assert disk['robustness']['mean_accuracy'] == pytest.approx(mem['robustness']['mean_accuracy'], abs=1e-6)

def test_divide_with_unlabeled_images_learns_its_pool_from_the_cache_file(tmp_path):
    "divide's kept images and pool (unlabeled split, dropped labels) picked in the cache file, as in memory"
    photos = make_folder(tmp_path/'photos', n_classes=3, per_class=30)
    cfg = run_config(tmp_path, data=dict(name='folder', path=str(photos), valid_pct=0.2, test_pct=0.2,
                                         n_labeled=30),
                     train=dict(stages=[dict(size=24, epochs=1, lr=0.01)], bs=16),
                     clean=dict(enabled=True, folds=2, epochs=1),
                     divide=dict(enabled=True, epochs=2, warmup=0))
    rc, _, err, _ = _run(cfg, tmp_path/'mem', tmp_path/'cache-mem')
    assert rc == 0, err
    with patch('noisyfast.loaders.MappedImages.numpy', _gathered):
        rc, _, err, _ = _run(cfg, tmp_path/'disk', tmp_path/'cache-disk', budget=1000)
    assert rc == 0, err # was: 'MappedImages' object has no attribute 'to', in the first divide epoch
    assert 'each batch is read from their cache file' in (tmp_path/'disk'/'r'/'log.txt').read_text()
    mem, disk = (json.loads((tmp_path/s/'r'/'metrics.json').read_text()) for s in ('mem', 'disk'))
    assert json.loads((tmp_path/'disk'/'r'/'data.json').read_text())['data']['unlabeled'] > 0
    assert disk['divide']['selection'] == mem['divide']['selection'], (disk['divide'], mem['divide'])
    assert disk['divide']['test_accuracy'] == pytest.approx(mem['divide']['test_accuracy'], abs=1e-6)

def test_the_audit_without_fold_models_reads_the_pixels_a_chunk_at_a_time(tmp_path):
    "clean.oof: false leaves no fold models: the audit's features are PCA of the pixels, never all in memory"
    photos = make_folder(tmp_path/'photos', n_classes=3, per_class=20)
    cfg = run_config(tmp_path, data=dict(name='folder', path=str(photos), valid_pct=0.2, test_pct=0.2),
                     train=dict(stages=[dict(size=24, epochs=1, lr=0.01)], bs=16),
                     clean=dict(enabled=True, oof=False), audit=dict(enabled=True))
    rc, _, err, _ = _run(cfg, tmp_path/'mem', tmp_path/'cache-mem')
    assert rc == 0, err
    with patch('noisyfast.loaders.MappedImages.numpy', _gathered):
        rc, _, err, _ = _run(cfg, tmp_path/'disk', tmp_path/'cache-disk', budget=1000)
    assert rc == 0, err
    assert 'each batch is read from their cache file' in (tmp_path/'disk'/'r'/'log.txt').read_text()
    mem, disk = (json.loads((tmp_path/s/'r'/'metrics.json').read_text())['audit'] for s in ('mem', 'disk'))
    assert disk['features'] == 'pixels (PCA; no fold models)', disk
    for key in ('health', 'issues'): # the same pixels, the same neighbours and properties
        assert disk[key] == mem[key], (key, disk[key], mem[key])

SITE = """import os
if os.environ.get('NOISYFAST_TEST_BUDGET'): # in every process of the run, torchrun's workers too
    import noisyfast.train
    noisyfast.train.memory_budget = lambda device=None: int(os.environ['NOISYFAST_TEST_BUDGET'])
"""

@pytest.mark.slow
def test_two_processes_read_one_cache_file_as_one_process_does(tmp_path, archive):
    ("`--processes 2` on a folder larger than memory: both processes decode into and read from one cache "
     "file; the clean stage's folds (one per process, the serial seeds) give one process's probabilities, "
     "bit for bit")
    photos = make_folder(tmp_path/'photos', n_classes=3, per_class=20)
    (tmp_path/'site').mkdir()
    (tmp_path/'site'/'sitecustomize.py').write_text(SITE) # the memory budget set to 1 kB, in each process
    cfg = run_config(tmp_path, data=dict(name='folder', path=str(photos), valid_pct=0.2, test_pct=0.2),
                     train=dict(stages=[dict(size=24, epochs=1, lr=0.01)], bs=16),
                     clean=dict(enabled=True, folds=2, epochs=1), evaluate=dict(robustness=False))
    path = [str(tmp_path/'site')] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1', 'NOISYFAST_TEST_BUDGET': '1000',
           'PYTHONPATH': os.pathsep.join(path)}
    for n in (1, 2): # each with its own cache folder: two processes decode into a new file together
        more = ['--processes', '2'] if n == 2 else []
        p = subprocess.run([sys.executable, '-m', 'noisyfast', 'run', str(cfg), f'output_dir={tmp_path}/p{n}',
                            '--no-report', *more], env={**env, 'NOISYFAST_CACHE': str(tmp_path/f'cache{n}')},
                           capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        log = (tmp_path/f'p{n}'/'r'/'log.txt').read_text()
        assert 'each batch is read from their cache file' in log, log
    one, two = tmp_path/'p1'/'r', tmp_path/'p2'/'r'
    for k in range(2):
        a, b = np.load(one/'clean'/'oof'/f'fold{k}.npy'), np.load(two/'clean'/'oof'/f'fold{k}.npy')
        assert np.array_equal(a, b), f'fold {k}'
    from noisyfast.runs import RunFolder
    i1, i2 = RunFolder(one).read('issues'), RunFolder(two).read('issues')
    assert len(i1) > 0 and i1.equals(i2)

def test_without_room_on_disk_a_divide_run_says_what_to_change(tmp_path):
    "Neither in memory nor (data.cache: false) on disk: fastai's pipeline (divide cannot use it), said first"
    photos = make_folder(tmp_path/'photos', n_classes=3, per_class=6)
    cfg = _config(tmp_path, photos)
    with patch('noisyfast.train.memory_budget', lambda device=None: 1000):
        rc, _, err, _ = main_inproc('run', cfg, f'output_dir={tmp_path}/out', 'data.cache=false')
    assert_user_error(rc, err, 'divide.enabled needs the fast loader', 'data.cache is false',
                      'set data.cache: true')
    assert not (tmp_path/'out').exists()

def test_a_run_on_fastais_pipeline_says_why(tmp_path):
    "No room in memory, data.cache: false: fastai's pipeline, and the run's log says why and what changes it"
    photos = make_folder(tmp_path/'photos', n_classes=3, per_class=6)
    cfg = run_config(tmp_path, data=dict(name='folder', path=str(photos), valid_pct=0.2, test_pct=0.2,
                                         cache=False),
                     train=dict(stages=[dict(size=24, epochs=1)], bs=4))
    with patch('noisyfast.train.memory_budget', lambda device=None: 1000):
        rc, _, err, _ = main_inproc('run', cfg, f'output_dir={tmp_path}/out', '--quiet', '--no-report')
    assert rc == 0, err
    log = (tmp_path/'out'/'r'/'log.txt').read_text()
    assert "fastai's pipeline decodes the files batch by batch: the decoded images do not fit in memory " \
           'and data.cache is false: set data.cache: true' in log, log
    assert 'decoding' not in log, log

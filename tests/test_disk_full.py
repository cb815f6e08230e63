"A full or read-only disk: a one-line error naming the file, never a traceback or a bus error; nothing lost"
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest

EXE = Path(sys.executable).parent/'noisyfast'
ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
CONFIG = """
data: {name: digits, max_train: 700}
noise: {kind: symmetric, rate: 0.4}
model: {arch: test_resnet}
train: {stages: [{size: 16, epochs: 2, lr: 0.01}], bs: 64}
clean: {enabled: true, folds: 2}
final: {enabled: true}
"""

def _mount(d, size, *opts):
    return subprocess.run(['mount', '-t', 'tmpfs', '-o', ','.join([*opts, f'size={size}']), 'tmpfs', str(d)],
                          capture_output=True, text=True)

@pytest.fixture
def small_disk(tmp_path):
    "A folder on a 400 KiB tmpfs (mounting needs root: CI and the dev machines run as root)"
    d = tmp_path/'disk'
    d.mkdir()
    r = _mount(d, '400k')
    if r.returncode: pytest.skip(f'cannot mount a small tmpfs here: {r.stderr.strip()}')
    yield d
    subprocess.run(['umount', str(d)], capture_output=True)

def test_run_on_a_full_disk_then_again_with_room(small_disk, tmp_path):
    cfg = tmp_path/'full.yaml'
    cfg.write_text(CONFIG + f'output_dir: {small_disk}\n')
    p = subprocess.run([str(EXE), 'run', str(cfg)], env=ENV, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, p.stdout + p.stderr
    assert 'Traceback' not in p.stderr, p.stderr
    err = p.stderr.strip().splitlines()[-1]
    assert err.startswith(f'noisyfast: error: cannot write {small_disk}/full/'), err # the file, named
    assert 'No space left on device' in err and 'free some space' in err, err
    assert not list(small_disk.rglob('.*.tmp*')), list(small_disk.rglob('*')) # no half-written file left
    assert _mount(small_disk, '64m', 'remount').returncode == 0
    p = subprocess.run([str(EXE), 'run', str(cfg), '--resume'], env=ENV, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (small_disk/'full'/'report.md').exists()

SCRIPT = """
import numpy as np
from noisyfast.loaders import DiskImages
d = DiskImages({folder!r}, 'k', 'train', 1000, (32, 32, 3)) # 3 MB, sparse, on a 400 KiB disk
a = np.arange(100 * 3072, dtype=np.uint64).astype(np.uint8).reshape(100, 32, 32, 3)
d.write(np.arange(100), a) # 300 KB: fits
try: d.write(np.arange(100, 400), np.ones((300, 32, 32, 3), np.uint8))
except Exception as e: print(type(e).__name__, e)
print('first images kept:', bool((d.x[:100] == a).all()), 'flags:', int(d.done[:100].sum()),
      int(d.done.sum()))
"""

def test_image_cache_on_a_full_disk(small_disk):
    "Decoded images past the disk's room: `DiskFull` (writing a sparse file's memory map would die of SIGBUS)"
    p = subprocess.run([sys.executable, '-c', SCRIPT.format(folder=str(small_disk))], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f'returncode {p.returncode} (-7: SIGBUS)\n{p.stdout}{p.stderr}'
    out = p.stdout.splitlines()
    assert out[0].startswith(f'DiskFull cannot write {small_disk}/k-train-32x32x3.u8: No space left'), out
    assert 'set data.cache: false' in out[0], out
    assert out[1] == 'first images kept: True flags: 100 100', out

def test_run_on_a_read_only_disk_is_refused_before_any_work(small_disk, tmp_path):
    "A run folder that cannot be made: the folder and the reason in one line, before the data is loaded"
    assert _mount(small_disk, '400k', 'remount', 'ro').returncode == 0
    cfg = tmp_path/'ro.yaml'
    cfg.write_text(CONFIG + f'output_dir: {small_disk}/runs\n')
    p = subprocess.run([str(EXE), 'run', str(cfg)], env=ENV, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.strip() == (f'noisyfast: error: cannot create the run folder {small_disk}/runs/ro: '
                                'Read-only file system; set output_dir to a folder this user can write '
                                f'(it is {small_disk}/runs)'), p.stderr
    assert 'decoding' not in p.stdout and 'stage 1/' not in p.stdout, p.stdout

def test_archive_extraction_on_a_full_cache_disk(small_disk, archive):
    "An archive is extracted into $NOISYFAST_CACHE on first use: no room there is one line, no half folder"
    p = subprocess.run([str(EXE), 'data', 'info', 'cifar10'], env={**ENV, 'NOISYFAST_CACHE': str(small_disk)},
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr.strip()
    head = f'noisyfast: error: cannot write {small_disk}/cifar10-jpg: No space left on device ('
    assert err.startswith(head), err
    assert err.endswith('point $NOISYFAST_CACHE at a folder on a disk with room'), err
    assert ' 0.0 MiB free' not in err, err # measured after the half-extracted folder was removed
    # no half-extracted folder: only the (empty) lock file processes take turns through (`extract`)
    assert [(f.name, f.stat().st_size) for f in small_disk.iterdir()] == [('cifar10-jpg.lock', 0)]

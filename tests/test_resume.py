"A run killed with SIGKILL and restarted with --resume ends with the same metrics as an uninterrupted run"
import json, os, random, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from noisyfast.runs import RunFolder
from reliability_helpers import finish_cli, start_cli, wait_for

EXE = Path(sys.executable).parent/'noisyfast'
ENV = {**os.environ, 'HF_HUB_OFFLINE': '1'}
CONFIG = """
data: {name: digits, max_train: 700}
noise: {kind: symmetric, rate: 0.4}
model: {arch: test_resnet}
train: {stages: [{size: 16, epochs: 3, lr: 0.01}], bs: 64, augment: shift}
clean: {enabled: true, folds: 3}
final: {enabled: true}
"""

start, finish = start_cli, finish_cli

def results(folder):
    "What must be identical: every metric but the timings, the flagged labels, the test predictions"
    rf = RunFolder(folder)
    m = rf.read('metrics')
    strip = lambda d: {k: strip(v) if isinstance(v, dict) else v for k, v in d.items()
                       if k not in ('seconds', 'total_seconds')}
    return strip(m), rf.read('issues').to_dict('list'), rf.read('predictions').to_dict('list')

def kill_when(p, path, timeout=600):
    "SIGKILL `p` as soon as `path` exists"
    wait_for(p, path, timeout)
    p.send_signal(signal.SIGKILL)
    p.wait()

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ref')
    cfg = tmp/'resume.yaml'
    cfg.write_text(CONFIG + f'output_dir: {tmp}\n')
    finish(start(cfg))
    return cfg, results(tmp/'resume')

def test_sigkill_during_clean_then_resume(reference, tmp_path):
    ref_cfg, ref = reference
    cfg = tmp_path/'resume.yaml'
    cfg.write_text(CONFIG + f'output_dir: {tmp_path}\n')
    folder = tmp_path/'resume'
    kill_when(start(cfg), folder/'clean'/'oof'/'fold0.npy') # killed inside the clean stage
    state = RunFolder(folder).read('state')
    assert 'train' in state['done'] and 'clean' not in state['done']
    r = subprocess.run([str(EXE), 'run', str(cfg)], env=ENV, capture_output=True, text=True)
    assert r.returncode == 2 and 'already exists' in r.stderr # never overwritten without --resume
    files = [*(folder/'train').rglob('*.pth'), *(folder/'clean').rglob('fold*.npy')]
    kept = {p: p.stat().st_mtime_ns for p in files}
    assert any(p.name == 'fold0.npy' for p in kept) and any(p.suffix == '.pth' for p in kept)
    out = finish(start(cfg, '--resume'))
    assert '[resume] train:' not in out
    # the baseline and the finished fold were read back, not computed again: their files were not rewritten
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert results(folder) == ref
    m = RunFolder(folder).read('metrics') # the run's time counts the killed invocation's finished stages too
    assert m['total_seconds'] >= sum(m[s]['seconds'] for s in ('train', 'clean', 'final')), m

def test_sigkill_at_random_moments(reference, tmp_path):
    "Kill the run at several random moments, resuming each time; the end result is the same"
    ref_cfg, ref = reference
    cfg = tmp_path/'resume.yaml'
    cfg.write_text(CONFIG + f'output_dir: {tmp_path}\n')
    rng, args = random.Random(0), []
    for i in range(4):
        p = start(cfg, *args)
        time.sleep(rng.uniform(2, 25))
        if p.poll() is None: p.send_signal(signal.SIGKILL); p.wait()
        args = ['--resume']
    finish(start(cfg, '--resume'))
    assert results(tmp_path/'resume') == ref

def test_sigterm_stops_cleanly_and_resumes(reference, tmp_path):
    "SIGTERM (or Ctrl-C) ends the run with a clear message; --resume then finishes it with the same results"
    ref_cfg, ref = reference
    cfg = tmp_path/'resume.yaml'
    cfg.write_text(CONFIG + f'output_dir: {tmp_path}\n')
    folder, p, t0 = tmp_path/'resume', start(cfg), time.time()
    while not (folder/'clean'/'oof').exists(): # SIGTERM once the clean stage has started
        assert p.poll() is None and time.time() - t0 < 600
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 130, out
    assert 'interrupted; finished stages are kept: continue with --resume' in out
    assert 'Traceback' not in out
    finish(start(cfg, '--resume'))
    assert results(folder) == ref

WRITER = r"""
import sys, torch
from noisyfast.config import atomic_write_text
from noisyfast.train import save_weights
what, path = sys.argv[1], sys.argv[2]
texts = ['A' * 12_000_000, 'B' * 12_000_000]
nets = [torch.nn.Linear(900, 900), torch.nn.Linear(900, 900)] # two different weights files of ~3 MB
print('ready', flush=True)
for i in range(10**6):
    if what == 'text': atomic_write_text(path, texts[i % 2])
    else: save_weights(nets[i % 2], path, step=i % 2)
"""

@pytest.mark.parametrize('seconds', [0.3, 0.9, 1.7])
@pytest.mark.parametrize('what', ['text', 'weights'])
def test_atomic_writes_survive_sigkill_mid_write(tmp_path, what, seconds):
    "SIGKILL while a text file or a checkpoint is rewritten in a loop: it is one whole version, never half"
    import torch
    path = tmp_path/('state.json' if what == 'text' else 'best.pth')
    p = subprocess.Popen([sys.executable, '-c', WRITER, what, str(path)], env=ENV, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == 'ready'
    time.sleep(seconds) # some writes have finished, one is under way
    p.send_signal(signal.SIGKILL); p.wait()
    if what == 'text':
        s = path.read_text()
        assert s in ('A' * 12_000_000, 'B' * 12_000_000), f'{len(s)} characters: a half-written file'
    else:
        obj = torch.load(path, weights_only=True) # a truncated checkpoint does not load
        assert obj['noisyfast']['step'] in (0, 1) and obj['model']['weight'].shape == (900, 900)

# The divide stage (notebook 07a) after the train and clean stages, then a final stage: killed inside divide,
# or after it, and resumed
DIVIDE = """
data: {name: digits, max_train: 700}
noise: {kind: symmetric, rate: 0.4}
model: {arch: test_resnet}
train: {stages: [{size: 16, epochs: 2, lr: 0.01}], bs: 64, augment: shift}
clean: {enabled: true, folds: 2, epochs: 1}
divide: {enabled: true, epochs: 4, warmup: 1}
final: {enabled: true}
evaluate: {robustness: false}
"""

def divide_config(tmp):
    cfg = tmp/'divide.yaml'
    cfg.write_text(DIVIDE + f'output_dir: {tmp}\n')
    return cfg, tmp/'divide'

@pytest.fixture(scope='module')
def divide_reference(tmp_path_factory):
    cfg, folder = divide_config(tmp_path_factory.mktemp('divide-ref'))
    finish(start(cfg))
    assert RunFolder(folder).read('state')['done'] == ['data', 'train', 'clean', 'divide', 'final']
    return results(folder)

def mtimes(files): return {p: p.stat().st_mtime_ns for p in files}

def test_sigkill_during_divide_then_resume(divide_reference, tmp_path):
    "Killed after divide's first epoch: train and clean are read back, divide runs again to its end"
    cfg, folder = divide_config(tmp_path)
    rf = RunFolder(folder)
    kill_when(start(cfg), rf.file('selection_stats', 'divide')) # written after each divide epoch
    done = rf.read('state')['done']
    assert 'clean' in done and 'divide' not in done, done
    assert not rf.has('finished', 'divide') and len(rf.read('selection_stats', 'divide')) < 4
    kept = mtimes([*(folder/'train').rglob('*.pth'), *(folder/'clean').rglob('*.npy'),
                   rf.file('test_probs', 'train'), rf.file('checked', 'clean')])
    assert any(p.suffix == '.pth' for p in kept) and any(p.name == 'probs.npy' for p in kept), kept
    finish(start(cfg, '--resume'))
    assert mtimes(kept) == kept # the finished stages were not computed again
    assert rf.read('state')['done'] == ['data', 'train', 'clean', 'divide', 'final']
    stats, fin = rf.read('selection_stats', 'divide'), rf.read('finished', 'divide')
    assert list(stats.epoch) == [0, 1, 2, 3] and fin['epochs'] == 4 # the whole divide stage, once
    m = rf.read('metrics')
    assert {'test_accuracy', 'selection'} <= set(m['divide']) and 'test_accuracy' in m['final']
    assert results(folder) == divide_reference # as if never killed

def test_finished_divide_is_skipped_on_resume(divide_reference, tmp_path):
    "Killed after the divide stage finished (during final): resuming does not train divide again"
    cfg, folder = divide_config(tmp_path)
    rf, p, t0 = RunFolder(folder), start(cfg), time.time()
    while 'divide' not in (rf.read('state', default={}) or {}).get('done', []):
        assert p.poll() is None, (f'the run ended before the divide stage was recorded done:\n'
                                  f'{p.stdout.read()}')
        assert time.time() - t0 < 600
        time.sleep(0.1)
    p.send_signal(signal.SIGKILL); p.wait()
    assert 'final' not in rf.read('state')['done']
    kept = mtimes([*(folder/'divide').rglob('*.pth'), *(rf.file(k, 'divide') for k in
                   ('selection_stats', 'selection', 'finished', 'test_probs'))])
    out = finish(start(cfg, '--resume'))
    assert mtimes(kept) == kept # divide's checkpoints, statistics and test probabilities were not rewritten
    assert 'divide epoch' not in out, out # no divide epoch ran
    assert results(folder) == divide_reference

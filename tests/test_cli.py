"Console-script tests: what a user types, run as a subprocess"
import os, subprocess, sys
from pathlib import Path
import pytest

ENV = {**os.environ, 'HF_HUB_OFFLINE': '1'}

EXE = Path(sys.executable).parent/'noisyfast' # the console script pip installed

def noisyfast(*args, cwd=None):
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=300)

def test_help():
    r = noisyfast('--help')
    assert r.returncode == 0 and 'data' in r.stdout and 'config' in r.stdout

@pytest.mark.parametrize('cmd', [['config', 'keys'], ['data', 'list']], ids=['15-kB', 'under-8-kB'])
def test_a_reader_that_leaves_early_gets_no_traceback(cmd):
    ("`noisyfast config keys | head -1`: the reader closes the pipe; exit 141 (SIGPIPE's), nothing on "
     "stderr. An output under Python's 8-kB buffer is written only by a flush: at exit it would fail "
     "outside `main`")
    env = {k: v for k, v in ENV.items() if k != 'PYTHONUNBUFFERED'} # CI sets it; a user's shell does not
    p = subprocess.Popen([str(EXE), *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.close() # before the command has written anything: every write finds no reader
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == '', (p.returncode, err[-2000:])

def test_a_run_whose_reader_leaves_says_how_to_go_on(tmp_path):
    "`noisyfast run x.yaml | head -3`: the run stops at its next line, says so on stderr; `--resume` goes on"
    cfg = tmp_path/'x.yaml'
    cfg.write_text(f'output_dir: {tmp_path}\ndata: {{name: digits, max_train: 300}}\n'
                   'model: {arch: cpu_net}\ntrain: {stages: [{size: 8, epochs: 1}], bs: 64}\n'
                   'evaluate: {robustness: false}\n')
    p = subprocess.Popen([str(EXE), 'run', str(cfg), '--no-report'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 141, (p.returncode, err[-2000:])
    said = ('noisyfast: stopped: the reader of its output left; finished stages are kept: continue with '
            '--resume')
    assert err.strip().splitlines()[-1] == said, err[-2000:]
    assert 'Traceback' not in err, err[-2000:]
    r = noisyfast('run', str(cfg), '--resume', '--no-report', '--quiet')
    assert r.returncode == 0 and (tmp_path/'x'/'metrics.json').exists(), r.stderr[-2000:]

def test_unknown_key_fails_before_any_work(tmp_path):
    f = tmp_path/'x.yaml'
    f.write_text('data: {name: digits}\nPRE_TRAINED: true\n')
    r = noisyfast('config', 'check', str(f))
    assert r.returncode == 2
    assert f"unknown key 'PRE_TRAINED' in {f}; did you mean 'model.pretrained'?" in r.stderr
    assert 'Traceback' not in r.stderr

def test_bad_value_names_key_value_and_range(tmp_path):
    f = tmp_path/'x.yaml'
    f.write_text('noise: {kind: symmetric, rate: 1.5}\n')
    r = noisyfast('config', 'check', str(f))
    assert r.returncode == 2 and "'noise.rate'" in r.stderr and '1.5' in r.stderr and '[0, 1)' in r.stderr

def test_data_info_digits():
    r = noisyfast('data', 'info', 'digits')
    assert r.returncode == 0 and 'train 1,797' in r.stdout

def test_data_info_cifar10n_rates(archive):
    r = noisyfast('data', 'info', 'cifar10n')
    assert r.returncode == 0, r.stderr
    for s in ('train 50,000', 'test 10,000', 'aggre    9.01 %', 'worst    40.21 %'): assert s in r.stdout

# ---------------------------------------------------------------- a user's mistake is a message, never a
# traceback
def _refused(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('noisyfast: error: '), r.stderr[-2000:]
    for n in needles: assert n in r.stderr, (n, r.stderr[-2000:])

def test_run_bad_data_path_is_a_message(tmp_path):
    f = tmp_path/'x.yaml'
    f.write_text(f'name: bad-path\noutput_dir: {tmp_path}\n'
                 f'data: {{name: folder, path: {tmp_path}/no-such-folder}}\n')
    _refused(noisyfast('run', str(f)), 'no-such-folder')
    assert not (tmp_path/'bad-path').exists() # refused before the run folder is made

@pytest.mark.parametrize('cmd', ['config', 'run'])
def test_loss_setting_the_loss_ignores_is_a_message(tmp_path, cmd):
    ("`train.label_smoothing` with a loss without cross-entropy: get_loss raised a plain ValueError once "
     "training began")
    f = tmp_path/'x.yaml'
    f.write_text(f'name: ls\noutput_dir: {tmp_path}\ndata: {{name: digits}}\n'
                 f'train: {{loss: nce, label_smoothing: 0.1}}\n')
    r = noisyfast('config', 'check', str(f)) if cmd == 'config' else noisyfast('run', str(f))
    _refused(r, "'train.label_smoothing'", "train.loss is 'nce', which has no ce term")
    assert not (tmp_path/'ls').exists()

def test_impossible_combination_is_a_message(tmp_path):
    f = tmp_path/'x.yaml'
    f.write_text(f'name: imp\noutput_dir: {tmp_path}\ndata: {{name: digits}}\npseudo: {{rounds: 1}}\n')
    _refused(noisyfast('run', str(f)), 'pseudo.rounds is set but there is no unlabeled data')
    assert not (tmp_path/'imp').exists()

def test_predict_after_a_run_with_divide(tmp_path):
    "Train (clean, then divide) and classify the test images as PNG files: the run's own test accuracy"
    import json, numpy as np, pandas as pd
    from PIL import Image
    from noisyfast.config import load_config
    from noisyfast.pipeline import make_data
    f = tmp_path/'d.yaml'
    f.write_text(f'name: d\noutput_dir: {tmp_path}\ndata: {{name: digits, max_train: 500}}\n'
                 'noise: {kind: symmetric, rate: 0.3}\nmodel: {arch: test_resnet}\n'
                 'train: {stages: [{size: 16, epochs: 2, lr: 0.01}], bs: 64}\n'
                 'clean: {enabled: true, folds: 2, epochs: 1}\ndivide: {enabled: true, epochs: 2}\n'
                 'evaluate: {robustness: false}\n')
    r = noisyfast('run', str(f), '--quiet', '--no-report') # predict needs no report
    assert r.returncode == 0, r.stderr
    assert not (tmp_path/'d'/'report.md').exists() and '`noisyfast report ' in r.stdout, r.stdout
    data, _ = make_data(load_config(f))
    for i, (x, y) in enumerate(zip(data.test.x, data.test.y)):
        p = tmp_path/'new'/data.vocab[y]/f'{i}.png'
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[..., 0]).save(p)
    (tmp_path/'new'/'notes.txt').write_text('mine'); (tmp_path/'new'/'0'/'IMG_9.AAE').write_bytes(b'x')
    r = noisyfast('predict', str(tmp_path/'d'), str(tmp_path/'new'), '--out', '-')
    assert r.returncode == 0, r.stderr
    assert f"{tmp_path/'d'}: the divide stage's model, 10 classes at 16 px" in r.stderr
    assert (f'; {len(data.test):,} files (left out, not images by their names: .aae 1, .txt 1)'
            in r.stderr), r.stderr
    t = pd.read_csv(__import__('io').StringIO(r.stdout), dtype={'label': str}, keep_default_na=False)
    assert len(t) == len(data.test) and (t.error == '').all()
    acc = (t.label == t.file.map(lambda s: Path(s).parent.name)).mean()
    metrics = json.loads((tmp_path/'d'/'metrics.json').read_text())
    assert abs(acc - metrics['divide']['test_accuracy']) < 1e-9, (acc, metrics['divide']['test_accuracy'])

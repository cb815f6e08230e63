"Helpers of the reliability tests: small image folders and CSVs made from real images, file hashes, the CLI"
import contextlib, hashlib, io, os, subprocess, sys, time
from pathlib import Path
import numpy as np
from PIL import Image

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
EXE = Path(sys.executable).parent/'noisyfast' # the console script pip installed

def noisyfast(*args, cwd=None, timeout=300):
    "Run the console script in a subprocess; (returncode, stdout, stderr, seconds)"
    t0 = time.time()
    r = subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr, time.time() - t0

def main_inproc(*args):
    """`noisyfast.cli.main` in this process, as the console script calls it: (returncode, stdout, stderr,
    seconds). A run's refusal then costs seconds, not the 5-20 s of importing torch and fastai in a fresh
    process."""
    from noisyfast.cli import main
    if args and args[0] in ('run', 'grid'): import noisyfast.pipeline # the imports are not the run's time
    out, err, t0 = io.StringIO(), io.StringIO(), time.time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue(), time.time() - t0

def assert_user_error(rc, err, *needles):
    "Exit status 2, `noisyfast: error: ...` naming every needle, no traceback"
    assert rc == 2, f'exit status {rc}, expected 2:\n{err}'
    assert 'noisyfast: error: ' in err and 'Traceback' not in err, err
    for s in needles: assert s in err, f'{s!r} not in:\n{err}'

_IMAGES, _SRC = {}, []

def cifar10_source():
    ("The CIFAR-10 source (loaded once per session), or None without an archive folder (an error under "
     "CI=true)")
    from noisyfast.data import archive_for_tests, load_source
    if not _SRC: _SRC.append(load_source('cifar10', download_ok=False) if archive_for_tests() else None)
    return _SRC[0]


def real_images(n_classes=3, per_class=20):
    """`per_class` 32×32 RGB images of each of `n_classes` classes: CIFAR-10 test images when the archive
    folder is there, else scikit-learn's digits (built in) upscaled to 32×32 RGB.
    Returns (uint8 N×32×32×3, labels, class names, data set name)."""
    key = (n_classes, per_class)
    if key in _IMAGES: return _IMAGES[key]
    from noisyfast.data import load_images, load_source
    src = cifar10_source()
    if src is not None: xs, ys = src.test_x, np.asarray(src.test_y)
    else: # no archive folder: digits are always there
        src = load_source('digits')
        xs, ys = src.train_x, np.asarray(src.train_y)
    pick = np.concatenate([np.flatnonzero(ys == c)[:per_class] for c in range(n_classes)])
    x = [xs[i] for i in pick] if isinstance(xs, list) else xs[pick]
    a, _ = load_images(x, size=32, channels='rgb')
    res = _IMAGES[key] = (a, ys[pick],
                          [str(src.vocab[c]).replace('/', '_') for c in range(n_classes)], src.name)
    return res

def make_folder(root:Path, n_classes=3, per_class=20, fmt=('png', 'jpg')) -> Path:
    "root/<class>/<i>.png|jpg from real images (formats alternate)"
    a, y, names, _ = real_images(n_classes, per_class)
    for i, (img, c) in enumerate(zip(a, y)):
        d = root/names[c]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d/f'{i:03d}.{fmt[i % len(fmt)]}')
    return root

def make_csv(root:Path, n_classes=3, per_class=20, valid_every=5) -> Path:
    "root/images/<i>.png|jpg and root/labels.csv (path,label,is_valid), paths relative to the CSV"
    a, y, names, _ = real_images(n_classes, per_class)
    (root/'images').mkdir(parents=True, exist_ok=True)
    rows = ['path,label,is_valid']
    for i, (img, c) in enumerate(zip(a, y)):
        name = f'images/{i:03d}.{"png" if i % 2 else "jpg"}'
        Image.fromarray(img).save(root/name)
        rows.append(f'{name},{names[c]},{int(i % valid_every == 0)}')
    (root/'labels.csv').write_text('\n'.join(rows) + '\n')
    return root/'labels.csv'

def tree_hashes(root:Path) -> dict:
    "{relative path: sha256} of every file under `root` (and the set of folders, as None)"
    res = {}
    for p in sorted(Path(root).rglob('*')):
        rel = str(p.relative_to(root))
        res[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return res

def corrupt(path:Path, how:str) -> Path:
    "Damage an image file in place: truncate | empty | text"
    b = path.read_bytes()
    if how == 'truncate': path.write_bytes(b[:len(b) // 2])
    elif how == 'empty': path.write_bytes(b'')
    elif how == 'text': path.write_text('this is not an image\n')
    else: raise ValueError(how)
    return path


def run_config(tmp_path, *, bs=32, **kw) -> Path:
    "A tiny run config (digits unless `data` is given) written to tmp_path/run.yaml; `kw` sections merge in"
    import yaml
    cfg = dict(name='r', output_dir=str(tmp_path/'out'), data=dict(name='digits', max_train=300),
               model=dict(arch='test_resnet'), train=dict(stages=[dict(size=16, epochs=1)], bs=bs))
    for k, v in kw.items(): cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
    f = tmp_path/'run.yaml'
    f.write_text(yaml.safe_dump(cfg))
    return f

def no_run_folder(tmp_path) -> bool:
    "True when a refused run left nothing under tmp_path/out"
    out = tmp_path/'out'
    return not out.exists() or not any(out.rglob('*'))

def wait_for(p, path, timeout=600):
    "Wait until `path` exists while the process `p` runs (fails if `p` ends first or `timeout` s pass)"
    t0 = time.time()
    while not path.exists():
        assert p.poll() is None, f'the run ended before {path} appeared:\n{p.stdout.read()}'
        assert time.time() - t0 < timeout, f'{path} did not appear in {timeout} s'
        time.sleep(0.2)


def start_cli(cfg, *args):
    "`noisyfast run CONFIG ARGS` started in a subprocess, stdout and stderr together"
    return subprocess.Popen([str(EXE), 'run', str(cfg), *args], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

def finish_cli(p, timeout=600):
    "Wait for `start_cli`'s process; it must succeed; its output"
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out
    return out

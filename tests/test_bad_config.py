"""Bad config: every mistake is refused before any training, with a message that names the key.

Pure config mistakes go through `noisyfast config check FILE`, the ones that need the data through
`noisyfast run FILE`. Each case runs `noisyfast.cli.main` (what the console script calls) in this process,
so that ~70 cases take seconds; `test_console_script_*` run one case of each kind through the installed
console script in a subprocess (exit status 2, the message, no traceback). `noisyfast run` must fail within
seconds, before any epoch, and leave no run folder."""
import time
from pathlib import Path
import pytest, yaml
from reliability_helpers import assert_user_error, main_inproc, no_run_folder, noisyfast, run_config

def check(tmp_path, text, *overrides, subprocess=False):
    "`noisyfast config check` on a file holding `text`: (returncode, stderr, file)"
    f = tmp_path/'x.yaml'
    f.write_text(text)
    rc, out, err, _ = (noisyfast if subprocess else main_inproc)('config', 'check', f, *overrides)
    return rc, err, f

@pytest.mark.parametrize('text,override,needles', [
    ('PRE_TRAINED: true\n', None, ["unknown key 'PRE_TRAINED'", "did you mean 'model.pretrained'?"]),
    ('train: {bs: big}\n', None, ["'train.bs'", "'big' is not allowed; expected an integer"]),
    ('seed: 1\n', 'clean.strikes=0', ["'clean.strikes'", '0 is out of range; allowed: >= 1']),
    ('model: {pretrained: /no/such.pth}\n', None,
     ["'model.pretrained'", "weights file '/no/such.pth' not found"]),
], ids=['unknown-key', 'wrong-type', 'out-of-range', 'impossible'])
def test_console_script_config_check(tmp_path, text, override, needles):
    "One case of each kind through the installed console script, in a fresh process"
    rc, err, f = check(tmp_path, text, *([override] if override else []), subprocess=True)
    assert_user_error(rc, err, *needles)

# a fresh process running `noisyfast ARGS...` in-process, then printing which heavy libraries it imported
IMPORTS_PROBE = ("import sys\nfrom noisyfast.cli import main\nrc = main(sys.argv[1:])\n"
                 "heavy = {m.split('.')[0] for m in sys.modules}\n"
                 "heavy &= {'torch', 'fastai', 'timm', 'sklearn', 'cleanlab'}\n"
                 "print('imported:', sorted(heavy))\nsys.exit(rc)")

def test_config_check_imports_neither_torch_nor_fastai(tmp_path):
    ("`noisyfast config check` is what people run while they edit a YAML file: it checks every key (the "
     "perturbation names too) without importing torch, fastai, timm or scikit-learn (about 6 s of imports on "
     "2 vCPUs: the whole check took 6.7 s before 2026-11-30, 0.35 s now)")
    import subprocess, sys
    from reliability_helpers import ENV
    f = tmp_path/'x.yaml'
    for text, rc, said in [('evaluate: {kinds: [blur, fog]}\n', 2, "'evaluate.kinds' in"),
                           ('evaluate: {kinds: [jpeg]}\ntrain: {perturb_kinds: [contrast]}\n', 0, ': OK')]:
        f.write_text(text)
        r = subprocess.run([sys.executable, '-c', IMPORTS_PROBE, 'config', 'check', str(f)],
                           capture_output=True, text=True, env=ENV)
        assert r.returncode == rc and said in r.stderr, (r.returncode, r.stderr[-2000:])
        assert r.stdout.splitlines()[-1] == 'imported: []', r.stdout[-500:]
    r = subprocess.run([sys.executable, '-m', 'noisyfast', 'config', 'check', str(f), 'evaluate.kinds=[fog]'],
                       capture_output=True, text=True, env=ENV) # the console script's way: the names listed
    assert "['fog']: not a perturbation; choose from salt_pepper, gaussian_noise, blur, jpeg, brightness, " \
        'contrast' in r.stderr, r.stderr

def test_run_refuses_a_config_mistake_before_the_imports(tmp_path):
    ("`noisyfast run`, `audit` and `grid` (every combination of its `--set` values) read the config before "
     "importing torch and fastai: a typo in a key is refused at once (8.6 s of imports before 2026-12-02 on "
     "2 vCPUs), and nothing is written")
    import subprocess, sys
    from reliability_helpers import ENV
    f = tmp_path/'x.yaml'
    typo, good = f'output_dir: {tmp_path}\ntrian: {{bs: 32}}\n', f'output_dir: {tmp_path}\n'
    for text, argv, want in [(typo, ['run'], "unknown key 'trian'"), (typo, ['audit'], "unknown key 'trian'"),
                             (typo, ['grid', '--set', 'seed=1,2'], "unknown key 'trian'"),
                             (good, ['grid', '--set', 'noise.rat=0.2,0.5'], "unknown key 'noise.rat'"),
                             (good, ['grid', '--set', 'train.bs=32,big'], "'train.bs' in"),
                             (good, ['run', 'train.bs=big'], "'train.bs' in")]:
        f.write_text(text)
        r = subprocess.run([sys.executable, '-c', IMPORTS_PROBE, argv[0], str(f), *argv[1:]],
                           capture_output=True, text=True, env=ENV)
        assert r.returncode == 2, (argv, r.returncode, r.stderr[-2000:])
        assert want in r.stderr and 'Traceback' not in r.stderr, (argv, r.stderr[-2000:])
        assert r.stdout.splitlines()[-1] == 'imported: []', (argv, r.stdout[-500:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.yaml"] # no run folder

# ---------------------------------------------------------------- unknown keys, with a suggestion

@pytest.mark.parametrize('text,needles', [
    ('PRE_TRAINED: true\n', ["unknown key 'PRE_TRAINED'", "did you mean 'model.pretrained'?"]),
    ('noise: {rates: 0.2}\n', ["unknown key 'noise.rates'", "did you mean 'noise.rate'?"]),
    ('model: {pretrianed: true}\n', ["unknown key 'model.pretrianed'", "did you mean 'model.pretrained'?"]),
    ('clean: {fold: 3}\n', ["unknown key 'clean.fold'", "did you mean 'clean.folds'?"]),
    ('train: {stages: [{szie: 64}]}\n',
     ["unknown key 'train.stages.szie'", "did you mean 'train.stages.size'?"]),
    ('data: {skip-bad: true}\n', ["unknown key 'data.skip-bad'", "did you mean 'data.skip_bad'?"]),
    ('train: {learning_rate: 0.1}\n', ["unknown key 'train.learning_rate'", 'see `noisyfast config keys`']),
], ids=['PRE_TRAINED', 'noise.rates', 'pretrianed', 'clean.fold', 'stages.szie', 'skip-bad', 'no-suggestion'])
def test_unknown_key(tmp_path, text, needles):
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, str(f), *needles)

def test_unknown_key_on_the_command_line(tmp_path):
    rc, err, f = check(tmp_path, 'seed: 1\n', 'train.stages.szie=32')
    assert_user_error(rc, err, "unknown key 'train.stages.szie'", '(with command-line overrides)',
                      "did you mean 'train.stages.size'?")

# ---------------------------------------------------------------- wrong types

@pytest.mark.parametrize('text,needles', [
    ('train: {bs: big}\n', ["'train.bs'", "'big' is not allowed; expected an integer"]),
    ('train: {bs: 32.5}\n', ["'train.bs'", 'expected an integer']),
    ('train: {stages: [{lr: fast}]}\n', ["'train.stages.lr'", 'expected a number']),
    ('clean: {enabled: sometimes}\n', ["'clean.enabled'", 'expected true or false']),
    ('seed: true\n', ["'seed'", 'expected an integer']),
    ('data: {name: [digits]}\n', ["'data.name'", 'expected a str']),
    ('train: {stages: 3}\n', ["'train.stages'", 'expected a non-empty list of stages']),
    ('data: 3\n', ["'data'", 'expected a mapping']),
    ('train: {opt: adamw}\n', ["'train.opt'", 'choose one of adam, ranger, sgd']),
    ('noise: {kind: gaussian}\n', ["'noise.kind'", 'choose one of none, symmetric']),
], ids=['bs-str', 'bs-float', 'lr-str', 'bool', 'seed-bool', 'name-list', 'stages-int', 'section-int', 'opt',
        'noise.kind'])
def test_wrong_type(tmp_path, text, needles):
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, str(f), *needles)

# ---------------------------------------------------------------- out of range

@pytest.mark.parametrize('key,value,allowed', [
    ('noise.rate', 1.0, '[0, 1)'), ('noise.rate', -0.1, '[0, 1)'),
    ('clean.strikes', 0, '>= 1'), ('clean.folds', 1, '>= 2'),
    ('pseudo.threshold', 1.5, '[0, 1]'), ('clean.relabel_threshold', -0.1, '[0, 1]'),
    ('clean.frac_noise', 0, '(0, 1]'),
    ('train.stages.epochs', 0, '[1, 10000]'), ('train.stages.size', 0, '[1, 4096]'),
    ('train.stages.lr', 0, '(0, 10]'),
    ('train.bs', 0, '[1, 65536]'), ('data.image_size', -32, '[1, 4096]'), ('data.max_train', 0, '>= 1'),
    ('data.n_labeled', 0, '>= 1'), ('data.valid_pct', 0, '(0, 1)'), ('data.valid_pct', 1, '(0, 1)'),
    ('data.labeled_fraction', 1.5, '(0, 1]'), ('pseudo.epochs', 0, '[1, 10000]'),
    ('clean.epochs', -1, '[1, 10000]'),
    ('pseudo.rounds', -1, '[0, 100]'), ('train.label_smoothing', 1, '[0, 1)'),
    ('train.perturb', 1.5, '[0, 1]'), ('train.perturb_severity', 6, '[1, 5]'),
    ('evaluate.max_images', 0, '>= 1'),
])
def test_out_of_range(tmp_path, key, value, allowed):
    rc, err, f = check(tmp_path, 'seed: 1\n', f'{key}={value}')
    assert_user_error(rc, err, f"'{key}'", f'is out of range; allowed: {allowed}')
    assert f'{value}' in err or f'{float(value)}' in err, err

# ---------------------------------------------------------------- impossible combinations (no data needed)

@pytest.mark.parametrize('text,needles', [
    ('model: {pretrained: /no/such/weights.pth}\n',
     ["'model.pretrained'", "weights file '/no/such/weights.pth' not found"]),
    ('data: {n_labeled: 100, labeled_fraction: 0.5}\n', ["'data.n_labeled'", 'not both']),
    ('noise: {kind: symmetric}\n', ["'noise.rate'", 'rate is 0']),
    ('noise: {kind: matrix}\n', ["'noise.matrix'", 'no matrix is given']),
    ('noise: {kind: real}\n', ["'noise.column'", 'no label column is given']),
    ("name: 'a/b'\n", ["'name'", 'not a usable folder name']),
    ('evaluate: {kinds: [blur, fog]}\n', ["'evaluate.kinds'", "['fog']: not a perturbation", 'salt_pepper']),
    ('evaluate: {severities: [0, 6]}\n', ["'evaluate.severities'", 'integers from 1 to 5']),
    ('train: {perturb_kinds: []}\n', ["'train.perturb_kinds'", 'the list is empty']),
], ids=['pretrained-path', 'labeled-both', 'rate-0', 'matrix', 'real-column', 'name', 'perturbation',
        'severities', 'perturb-kinds-empty'])
def test_impossible_combination(tmp_path, text, needles):
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, *needles)

@pytest.mark.parametrize('text,needle', [
    ('data: {name: digits\n', 'is not valid YAML'),
    ('- a\n- b\n', 'expected a mapping of keys at the top'),
])
def test_unreadable_config(tmp_path, text, needle):
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, str(f), needle)

def test_missing_config_file(tmp_path):
    rc, out, err, _ = main_inproc('config', 'check', tmp_path/'nope.yaml')
    assert_user_error(rc, err, f"config file {tmp_path/'nope.yaml'} not found")

# ---------------------------------------------------------------- keys added later: plain tests

def test_data_classes_key(tmp_path):
    rc, err, f = check(tmp_path, 'data: {name: csv, path: x.csv, classes: [cat, dog]}\n')
    assert rc == 0, err
    rc, err, f = check(tmp_path, 'data: {classes: cat}\n')
    assert_user_error(rc, err, "'data.classes'", 'expected a list')

def test_negative_seed(tmp_path):
    rc, err, f = check(tmp_path, 'seed: -1\n')
    assert_user_error(rc, err, "'seed'", 'out of range')

def test_noise_settings_without_noise_kind(tmp_path):
    "A rate with no noise kind would silently train on clean labels (the PRE_TRAINED mistake again)"
    rc, err, f = check(tmp_path, 'noise: {rate: 0.4}\n')
    assert_user_error(rc, err, "'noise.rate'", "noise.kind is 'none'")

def test_command_line_undoes_a_yaml_setting_and_keeps_text(tmp_path):
    ("A noisy YAML run as a clean one from the command line (noise.rate=null: the key's default, as the "
     "error says); a run named 2024 or yes is named so, not refused as a number or a boolean")
    from noisyfast.config import load_config
    text = 'noise: {kind: symmetric, rate: 0.4}\n'
    rc, err, f = check(tmp_path, text, 'noise.kind=none')
    assert_user_error(rc, err, "'noise.rate'", "noise.kind is 'none'", 'on the command line: noise.rate=null')
    rc, err, f = check(tmp_path, text, 'noise.kind=none', 'noise.rate=null', 'name=2024')
    assert rc == 0, err
    cfg = load_config(f, overrides=['noise.kind=none', 'noise.rate=null', 'name=yes'])
    assert (cfg.noise.kind, cfg.noise.rate, cfg.name) == ('none', 0.0, 'yes')

# ---------------------------------------------------------------- through `noisyfast run`: needs the data

@pytest.mark.parametrize('kw,needles', [
    (dict(noise=dict(kind='asymmetric', rate=0.2)),
     ['asymmetric noise needs a class map: data set digits has no built-in map', 'noise.map']),
    (dict(noise=dict(kind='asymmetric', rate=0.2, map={'cat': 'dog'})), ["noise.map: unknown class 'cat'"]),
    (dict(noise=dict(kind='matrix', matrix=[[0.5, 0.5], [0.5, 0.5]])),
     ['noise.matrix is 2×2 but digits has 10 classes']),
    (dict(noise=dict(kind='real', column='worst')),
     ['real noise needs label columns: data set digits has none']),
    (dict(pseudo=dict(rounds=1)), ['pseudo.rounds is set but there is no unlabeled data']),
    (dict(final=dict(enabled=True, init='pseudo')),
     ["final.init is 'pseudo' but the pseudo stage is not enabled", 'set pseudo.rounds: 1 or more']),
    (dict(final=dict(enabled=True, init='/no/such.pth')),
     ["final.init: weights file '/no/such.pth' not found"]),
    (dict(clean=dict(enabled=True, folds=200)), ['clean.folds is 200 but the train split has only']),
    (dict(clean=dict(enabled=True, oof=False), audit=dict(enabled=True, max_images=10)),
     ['audit.k is 10 neighbours but the audit has only 10 train images', 'raise audit.max_images']),
    (dict(data=dict(n_labeled=5000)), ['data.n_labeled is 5000 but the train split has only']),
    (dict(data=dict(coarse_map='builtin')),
     ["data.coarse_map is 'builtin' but digits has no built-in coarse classes"]),
    (dict(data=dict(name='cifar100')), ["unknown data set 'cifar100'"]),
    (dict(data=dict(name='csv', path='/no/such.csv')), ['/no/such.csv: CSV file not found']),
    (dict(train=dict(baseline=False)), ['nothing to do: enable at least one stage']),
], ids=['asym-no-map', 'asym-bad-map', 'matrix-size', 'real-no-columns', 'pseudo-no-unlabeled', 'final-init',
        'final-init-path', 'folds', 'audit-k', 'n_labeled', 'coarse', 'data-name', 'csv-path', 'nothing-to-do'])
def test_run_refused_before_training(tmp_path, kw, needles):
    rc, out, err, sec = main_inproc('run', run_config(tmp_path, **kw))
    assert_user_error(rc, err, *needles)
    assert 'train:' not in out, out # no stage started
    assert no_run_folder(tmp_path), list((tmp_path/'out').rglob('*'))
    assert sec < 20, f'refused after {sec:.1f} s'

def test_run_refuses_a_final_init_it_could_not_load_before_training(tmp_path):
    ("final.init is loaded by the last stage: a file saved from another architecture, or not a weights file, "
     "is refused before the first stage trains, naming the key")
    from noisyfast.models import create_model
    from noisyfast.train import save_weights
    save_weights(create_model('cpu_net', 3, 10), tmp_path/'cpu_net.pth') # a model file of another arch
    (tmp_path/'notes.yaml').write_text('seed: 1\n')
    for f, needle in [('cpu_net.pth', 'body weights do not match model.arch'),
                      ('notes.yaml', 'cannot be read as a weights file')]:
        cfg = run_config(tmp_path, clean=dict(enabled=True, folds=2),
                         final=dict(enabled=True, init=str(tmp_path/f)))
        rc, out, err, sec = main_inproc('run', cfg)
        assert_user_error(rc, err, 'final.init: ', needle, "give a file saved from model.arch 'test_resnet'")
        assert 'train:' not in out, out # no stage started
        assert no_run_folder(tmp_path), list((tmp_path/'out').rglob('*'))

def test_run_unknown_arch_leaves_no_run_folder(tmp_path):
    rc, out, err, sec = main_inproc('run', run_config(tmp_path, model=dict(arch='resnet5000')))
    assert_user_error(rc, err, "'resnet5000'")
    assert no_run_folder(tmp_path), list((tmp_path/'out').rglob('*'))

def test_run_says_config_mistakes_before_reading_the_data(tmp_path):
    ("What the config alone shows (an arch that does not exist, a pretrained arch whose weights cannot be "
     "had, an existing run folder) is said before the data is read: a folder with an unreadable photo is not "
     "reached (reading it would refuse it); for a folder of photos the reading is the minutes of the wait")
    from PIL import Image
    import numpy as np
    for i in range(8):
        (tmp_path/'photos'/'ab'[i % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 20 * i, np.uint8)).save(tmp_path/'photos'/'ab'[i % 2]/f'{i}.png')
    (tmp_path/'photos'/'a'/'broken.jpg').write_text('not a photo')
    data = dict(name='folder', path=str(tmp_path/'photos'))
    rc, out, err, sec = main_inproc('run', run_config(tmp_path, data=data))
    assert_user_error(rc, err, 'broken.jpg: not an image') # the data refuses a run that reads it
    for model, needle in [(dict(arch='resnet5o'), "model.arch 'resnet5o' is neither a timm nor a fastai"),
                          (dict(arch='resnet18', pretrained=True), 'are not in the local cache')]:
        rc, out, err, sec = main_inproc('run', run_config(tmp_path, data=data, model=model))
        assert_user_error(rc, err, needle)
        assert 'broken.jpg' not in err and 'loading' not in out, (out, err)
    (tmp_path/'out'/'r').mkdir(parents=True); (tmp_path/'out'/'r'/'config.yaml').write_text('seed: 1\n')
    (tmp_path/'out'/'r'/'state.json').write_text('{"done": ["data"]}\n') # a run's folder
    rc, out, err, sec = main_inproc('run', run_config(tmp_path, data=data))
    assert_user_error(rc, err, 'already exists: use --resume')
    assert 'broken.jpg' not in err

@pytest.mark.parametrize('kw,needle', [
    (dict(), 'the batch size 33 (train.bs, or train.stages.0.bs) does not split over 2 processes'),
    (dict(train=dict(baseline=False), divide=dict(enabled=True, bs=33), clean=dict(enabled=True)),
     'the batch size 33 (divide.bs, or train.bs) does not split over 2 processes'),
], ids=['train-bs', 'divide-bs'])
def test_run_processes_refuses_a_batch_that_does_not_split_before_starting_them(tmp_path, kw, needle):
    "`--processes 2`: said by the launcher before torchrun starts two processes that would each say it"
    rc, out, err, sec = main_inproc('run', run_config(tmp_path, bs=33, **kw), '--processes', '2')
    assert_user_error(rc, err, needle)
    assert 'torch.distributed' not in err and 'Root Cause' not in out + err, (out, err)
    assert sec < 10, f'refused after {sec:.1f} s'

def test_console_script_run_refused(tmp_path):
    ("The installed console script, in a fresh process: exit status 2, the message, no traceback, "
     "no run folder")
    rc, out, err, sec = noisyfast('run', run_config(tmp_path, pseudo=dict(rounds=1)))
    assert_user_error(rc, err, 'pseudo.rounds is set but there is no unlabeled data')
    assert no_run_folder(tmp_path)

# ---------------------------------------------------------------- extreme and non-finite values

@pytest.mark.parametrize('text,needles', [
    ('noise: {kind: symmetric, rate: .nan}\n',
     ["'noise.rate'", 'nan is not allowed; expected a finite number']),
    ('train: {stages: [{lr: .inf}]}\n',
     ["'train.stages.lr'", 'inf is not allowed; expected a finite number']),
    ('train: {stages: [{lr: -.inf}]}\n', ["'train.stages.lr'", 'expected a finite number']),
    ('train: {wd: .nan}\n', ["'train.wd'", 'expected a finite number']),
    ('train: {stages: [{lr: 1.0e+300}]}\n', ["'train.stages.lr'", 'is out of range; allowed: (0, 10]']),
    ('noise: {seed: -5}\n', ["'noise.seed'", '-5 is out of range; allowed: [0, 4294967295]']),
    ('seed: 1000000000000\n', ["'seed'", '1000000000000 is out of range; allowed: [0, 4294967295]']),
    ('seed: 4294967296\n', ["'seed'", 'allowed: [0, 4294967295]']),
    ('train: {stages: [{size: 100000}]}\n', ["'train.stages.size'", 'allowed: [1, 4096]']),
    ('data: {image_size: 100000}\n', ["'data.image_size'", 'allowed: [1, 4096]']),
    ('train: {bs: 100000000}\n', ["'train.bs'", 'allowed: [1, 65536]']),
    ('model: {in_chans: 1000000}\n', ["'model.in_chans'", 'allowed: [1, 64]']),
    ('train: {stages: [{epochs: 1000000}]}\n', ["'train.stages.epochs'", 'allowed: [1, 10000]']),
    ('pseudo: {rounds: 100000}\n', ["'pseudo.rounds'", 'allowed: [0, 100]']),
], ids=['rate-nan', 'lr-inf', 'lr-minus-inf', 'wd-nan', 'lr-huge', 'noise-seed-negative', 'seed-huge',
        'seed-2**32', 'size-huge', 'image-size-huge', 'bs-huge', 'in-chans-huge', 'epochs-huge',
        'rounds-huge'])
def test_extreme_values(tmp_path, text, needles):
    "NaN passes every `<` and `>` test; seeds past 2**32-1 and sizes past 4096 died mid-run with a traceback"
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, str(f), *needles)

def test_largest_allowed_values_pass(tmp_path):
    "The bounds are where the libraries stop, not below: the largest seed, size and lr are accepted"
    rc, err, f = check(tmp_path, 'seed: 4294967295\nnoise: {seed: 4294967295}\ndata: {image_size: 4096}\n'
                       'train: {stages: [{size: 4096, lr: 10}]}\n')
    assert rc == 0, err

@pytest.mark.parametrize('override', ['noise.seed=-5', 'seed=1000000000000', 'train.stages.size=100000',
                                      'train.stages.lr=1e300', 'train.stages.lr=.inf'])
def test_run_refuses_extreme_values_before_the_run_folder(tmp_path, override):
    "These died in `noisyfast run` with a traceback, three of them leaving a half-written run folder"
    rc, out, err, sec = main_inproc('run', run_config(tmp_path), override)
    assert_user_error(rc, err, f"'{override.split('=')[0]}'")
    assert no_run_folder(tmp_path), list((tmp_path/'out').rglob('*'))

def test_largest_seeds_run(tmp_path):
    "A run with the largest allowed seeds trains (seed + offsets stay within what numpy and torch take)"
    f = run_config(tmp_path, seed=2**32 - 1, data=dict(max_train=60), noise=dict(kind='symmetric', rate=0.2,
                   seed=2**32 - 1), clean=dict(enabled=True, folds=2), evaluate=dict(robustness=False))
    rc, out, err, sec = main_inproc('run', f)
    assert rc == 0, err
    assert 'summary (test accuracy on clean test labels;' in out, out # digits' own labels

# ---------------------------------------------------------------- config files that are not small YAML texts

@pytest.mark.parametrize('text,needles', [
    ('evaluate: {kinds: [[blur]]}\n', ["'evaluate.kinds'", "[['blur']]: not a perturbation"]),
    ('train: {perturb_kinds: [{blur: 1}]}\n', ["'train.perturb_kinds'", 'not a perturbation']),
    ('data: {classes: [[cat], dog]}\n', ["'data.classes'", 'give a list of class names']),
    ('noise: {kind: asymmetric, rate: 0.2, map: {cat: [dog]}}\n',
     ["'noise.map'", 'from class name to class name']),
    ('noise: {kind: matrix, matrix: [[0.5, 0.5], [1]]}\n', ["'noise.matrix'", 'give a square matrix']),
    ('noise: {kind: matrix, matrix: [[0.5, 0.5], [0.5, .nan]]}\n', ["'noise.matrix'", 'finite']),
    ('noise: {kind: matrix, matrix: [[0.5, 0.6], [0.5, 0.5]]}\n', ["'noise.matrix'", 'row 0 sums to 1.1']),
    ('seed: 1\ntrain: {bs: 8}\nseed: 2\n', ["key 'seed' is given twice (lines 1 and 3)"]),
    ('train:\n  bs: 8\n  opt: sgd\n  bs: 16\n', ["key 'bs' is given twice (lines 2 and 4)"]),
    ('dätä: {name: digits}\n', ["unknown key 'dätä'", "did you mean 'data'?"]),
    ('a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n'
     'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n'
     'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n'
     'g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n'
     'i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\nnoise: {kind: matrix, matrix: *i}\n',
     ['more than 100,000 values once its YAML aliases (*name) are expanded']),
    ('[' * 5000 + ']' * 5000 + '\n', ['nested too deeply']),
], ids=['kinds-nested', 'perturb-kinds-dict', 'classes-nested', 'map-list', 'matrix-ragged', 'matrix-nan',
        'matrix-row-sum', 'duplicate-top', 'duplicate-nested', 'accents', 'alias-bomb', 'deep-nesting'])
def test_config_file_mistakes(tmp_path, text, needles):
    "Each used to be a TypeError, a silently kept last value, a hang or a missing suggestion"
    t0 = time.time()
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, *needles)
    assert time.time() - t0 < 5

def test_binary_and_huge_config_files(tmp_path):
    f = tmp_path/'x.yaml'
    f.write_bytes(bytes(range(256)) * 4)
    rc, out, err, _ = main_inproc('config', 'check', f)
    assert_user_error(rc, err, f'{f} is not a UTF-8 text file')
    row = '[' + ', '.join(['0.001'] * 1000) + ']'
    f.write_text('noise:\n  kind: matrix\n  matrix: [' + ', '.join([row] * 300) + ']\n') # 300×1000 numbers
    t0 = time.time()
    rc, out, err, _ = main_inproc('config', 'check', f)
    assert_user_error(rc, err, f'{f} is {f.stat().st_size:,} bytes', 'at most 1,000,000 bytes')
    assert time.time() - t0 < 2
    rc, out, err, _ = main_inproc('config', 'check', tmp_path)
    assert_user_error(rc, err, f'{tmp_path} is not a file')

def test_matrix_that_is_not_square_refused_early(tmp_path):
    "A matrix with 1001 rows is refused from its shape, before anything reads its 10⁶ entries"
    rc, err, f = check(tmp_path, 'seed: 1\n', 'noise.kind=matrix', 'noise.matrix=[' + '[1],' * 1001 + ']')
    assert_user_error(rc, err, "'noise.matrix'", 'at most 1000 classes inline')

def test_duplicate_key_under_a_merge_key_is_allowed(tmp_path):
    "`<<: *base` then an override is what merge keys are for: not a duplicate"
    # 'base' is unknown: refused
    rc, err, f = check(tmp_path, 'base: &b {bs: 8, opt: sgd}\n', subprocess=False)
    assert_user_error(rc, err, "unknown key 'base'")
    f = tmp_path/'m.yaml'
    f.write_text('train:\n  <<: {bs: 8, opt: sgd}\n  bs: 16\n')
    rc, out, err, _ = main_inproc('config', 'check', f)
    assert rc == 0 and 'bs: 16' in out, err

# ---------------------------------------------------------------- names and paths, before anything is written

@pytest.mark.parametrize('text,needles', [
    ('name: "a\\0b"\n', ["'name'", 'expected text without a NUL character']),
    ('name: ' + 'r' * 300 + '\n',
     ["'name'", 'is not a usable folder name: it is 300 bytes long; at most 255']),
    ('name: "  "\n', ["'name'", 'it is empty']),
    ('data: {path: "/tmp/a\\0b"}\n', ["'data.path'", 'NUL']),
    ('model: {pretrained: /tmp/' + 'w' * 300 + '.pth}\n', ["'model.pretrained'", 'is 304 bytes long']),
    ('final: {enabled: true, init: /tmp/' + 'w' * 300 + '.pth}\n', ["'final.init'", 'is 304 bytes long']),
    ('output_dir: /tmp/' + 'o' * 300 + '\n', ["'output_dir'", 'is 300 bytes long']),
], ids=['name-nul', 'name-long', 'name-blank', 'path-nul', 'pretrained-long', 'final-init-long',
        'output-long'])
def test_names_and_paths(tmp_path, text, needles):
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, *needles)

def test_output_dir_or_run_folder_is_a_file(tmp_path):
    (tmp_path/'file').write_text('x')
    rc, err, f = check(tmp_path, f'output_dir: {tmp_path/"file"}\n')
    assert_user_error(rc, err, "'output_dir'", f'{tmp_path/"file"} is a file, not a folder')
    rc, err, f = check(tmp_path, f'output_dir: {tmp_path/"file"/"deeper"}\n')
    assert_user_error(rc, err, "'output_dir'", f'{tmp_path/"file"} is a file, not a folder')
    (tmp_path/'out').mkdir()
    (tmp_path/'out'/'r').write_text('x')
    rc, err, f = check(tmp_path, f'output_dir: {tmp_path/"out"}\nname: r\n')
    assert_user_error(rc, err, "'name'", f'{tmp_path/"out"/"r"} is a file, not a folder')

@pytest.mark.parametrize('override,needle', [
    ('name=' + 'r' * 300, "'name'"), ('output_dir=/dev/null', "'output_dir'"), ('name=a/b', "'name'")])
def test_run_refuses_bad_names_before_writing(tmp_path, override, needle):
    "Used to be OSError: File name too long, NotADirectoryError, ValueError: embedded null byte, mid-run"
    rc, out, err, sec = main_inproc('run', run_config(tmp_path), override)
    assert_user_error(rc, err, needle)
    assert no_run_folder(tmp_path)

def test_nul_byte_in_name(tmp_path):
    ("A NUL byte can only come from the file (argv cannot hold one): `config check` (through the console "
     "script) and `run` name the key")
    f = tmp_path/'x.yaml'
    f.write_text(f'name: "r\\0"\noutput_dir: {tmp_path/"out"}\n')
    rc, out, err, sec = noisyfast('config', 'check', f)
    assert_user_error(rc, err, "'name'", 'NUL')
    rc, out, err, sec = main_inproc('run', f)
    assert_user_error(rc, err, "'name'", 'NUL')
    assert no_run_folder(tmp_path)

# ---------------------------------------------------------------- consensus labels and experiment tracking

@pytest.mark.parametrize('text,needles', [
    ('data: {name: cifar10n}\nnoise: {kind: real, column: crowdlab, annotators: [random1]}\n',
     ["'noise.annotators'", "at least 2 annotator columns; got ['random1']"]),
    ('data: {name: cifar10n}\nnoise: {kind: real, column: crowdlab, annotators: [random1, rando2]}\n',
     ["'rando2' is not in the label columns of cifar10n", 'aggre, random1, random2, random3, worst']),
    ('noise: {kind: real, column: crowdlab}\n', ["'noise.annotators'", 'digits has no label columns']),
    ('data: {name: csv, path: x.csv, label_columns: [a]}\nnoise: {kind: real, column: crowdlab}\n',
     ["got ['a']", "list the CSV's annotator columns in data.label_columns"]),
    ('data: {name: csv, path: x.csv, label_columns: [a, b]}\n'
     'noise: {kind: real, column: crowdlab, annotators: [a, c]}\n',
     ["'c' is not in data.label_columns (a, b)"]),
    ('data: {name: cifar10n, label_columns: [a, b]}\n', ["'data.label_columns'", "data.name is 'cifar10n'"]),
    ('noise: {annotators: [a, b]}\n', ["'noise.annotators'", 'is set but noise.column is None']),
    ('track: neptune\n', ["'track'", 'choose one of none, csv, tensorboard, wandb, mlflow']),
], ids=['one-annotator', 'unknown-annotator', 'no-label-columns', 'csv-one-column', 'csv-unknown-annotator',
        'label-columns-not-csv', 'annotators-without-crowdlab', 'unknown-tracker'])
def test_consensus_and_tracking_keys(tmp_path, text, needles):
    rc, err, f = check(tmp_path, text)
    assert_user_error(rc, err, str(f), *needles)

def test_tracker_package_missing(tmp_path, monkeypatch):
    "A tracker whose package is not installed is refused by `config check` with the pip command to run"
    import noisyfast.config
    monkeypatch.setitem(noisyfast.config.TRACKERS, 'wandb', 'no_such_package_xyz') # as if wandb were missing
    rc, err, f = check(tmp_path, 'track: wandb\n')
    assert_user_error(rc, err, "'track'", 'wandb is not installed; run `pip install no_such_package_xyz`')
    rc, err, f = check(tmp_path, 'track: csv\n')
    assert rc == 0, err

"""Config fuzz: every shipped config in configs/, mutated at random (wrong types, extremes, negative, huge and
non-finite numbers, odd strings with accents, NUL bytes or thousands of characters, paths, lists of lists,
removed, unknown and duplicated keys), must give `noisyfast config check` either success or a `ConfigError`
that names a key (or the file), within seconds: never another exception, never a hang.

A few mutated configs also go through the console script, and a handful of mutated tiny digits runs through
`noisyfast run`: each is refused before training (exit status 2, no traceback, no run folder), or, when
nothing refuses it, reaches the first training call, which is replaced here by a stub that stops the run: the
folder the run made must then be gone too."""
import copy, math, re, time
from pathlib import Path
import pytest, yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from reliability_helpers import assert_user_error, main_inproc, no_run_folder, noisyfast, run_config

from noisyfast.config import config_keys
KEYS = config_keys()
CONFIGS = sorted((Path(__file__).parent.parent/'configs').glob('*.yaml'))
SHIPPED = {f.name: yaml.safe_load(f.read_text()) for f in CONFIGS}

# ---------------------------------------------------------------- mutations

ODD_SCALARS = [0, -1, 1, -5, 2**31, 2**32, 2**63, 10**12, -10**12, 1e300, -1e300, 1e-320, math.nan, math.inf,
               -math.inf, '', ' ', 'dätä', 'Ünïcödé ✓', 'x\0y', 'é' * 300, 'a' * 5000, '/etc/passwd',
               '/dev/null', '../..', '~nosuchuser/x', 'C:\\Windows', '1e-3', 'true', 'null', '.nan',
               'builtin', 'train', True, False, None, 'blur', 'jpeg', 'symmetric', 'resnet18', 0.5, 3]
scalar = st.one_of(st.sampled_from(ODD_SCALARS), st.integers(-2**70, 2**70), st.floats(),
                   st.text(max_size=40))
value = st.one_of(scalar, st.lists(scalar, max_size=4), st.lists(st.lists(scalar, max_size=3), max_size=3),
                  st.dictionaries(st.text(max_size=8), scalar, max_size=3))

def _paths(d, prefix=()):
    "Every (path of keys / list indices) inside the parsed config"
    out = []
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else []
    for k, v in items:
        out.append(prefix + (k,))
        out += _paths(v, prefix + (k,))
    return out

def _parent(d, path):
    for k in path[:-1]: d = d[k]
    return d

@st.composite
def mutated(draw, names=tuple(SHIPPED)):
    "(YAML text, description) of a shipped config with one or two random mutations"
    name = draw(st.sampled_from(names))
    d, what = copy.deepcopy(SHIPPED[name]), [name]
    dup = None
    for _ in range(draw(st.integers(1, 2))):
        paths = _paths(d)
        op = draw(st.sampled_from(['set', 'set', 'key', 'key', 'key', 'key', 'remove', 'unknown',
                                   'duplicate']))
        if op in ('set', 'remove', 'duplicate') and not paths: op = 'unknown'
        if op == 'key': # any valid key, not only those the file has (the stages key in every stage)
            parts = draw(st.sampled_from(KEYS)).split('.')
            if parts[:2] == ['train', 'stages'] and len(parts) == 3:
                if not isinstance(d.get('train'), dict): d['train'] = {}
                stages = d['train'].setdefault('stages', [{}])
                if isinstance(stages, list) and all(isinstance(x, dict) for x in stages):
                    for x in stages: x[parts[2]] = draw(value)
            else:
                cur = d
                for p in parts[:-1]:
                    if not isinstance(cur.get(p), dict): cur[p] = {}
                    cur = cur[p]
                cur[parts[-1]] = draw(value)
            what.append(f'key {".".join(parts)}')
            continue
        if op == 'unknown':
            parent = draw(st.sampled_from([d] + [_parent(d, p + ('x',)) for p in paths
                                                 if isinstance(_parent(d, p + ('x',)), dict)]))
            key = draw(st.one_of(st.sampled_from(['dätä', 'PRE_TRAINED', 'lr', 'seeds', '']),
                                 st.text(max_size=10)))
            parent[key] = draw(value)
            what.append(f'unknown {key!r}')
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(d, path)
        if op == 'set':
            parent[path[-1]] = draw(value)
            what.append(f'set {path}')
        elif op == 'remove':
            del parent[path[-1]]
            what.append(f'remove {path}')
        elif isinstance(path[-1], str) and len(path) == 1:
            dup = (path[0], draw(value))
    text = yaml.safe_dump(d, allow_unicode=True, sort_keys=False)
    if dup is not None and dup[0] in d: # the same top-level key again, at the end
        text += yaml.safe_dump({dup[0]: dup[1]}, allow_unicode=True)
        what.append(f'duplicate {dup[0]!r}')
    return text, '; '.join(what)

NAMES_A_KEY = re.compile(r"'[^']+'|key |\.yaml")

def check_in_process(tmp_path, text):
    "`load_config` on the text: None on success, else the ConfigError; any other exception fails the test"
    from noisyfast.config import ConfigError, load_config, save_config, to_dict
    import noisyfast.evaluate, noisyfast.noise # validate imports these (torch): not the check's own time
    f = tmp_path/'fuzz.yaml'
    f.write_text(text, encoding='utf-8')
    t0 = time.time()
    try: cfg = load_config(f)
    except ConfigError as e:
        msg = str(e)
        assert msg and NAMES_A_KEY.search(msg), f'the error names no key: {msg!r}'
        return e
    finally: assert time.time() - t0 < 5, f'config check took {time.time() - t0:.1f} s'
    # accepted: every number is finite, and the resolved config saves and loads back unchanged
    d = to_dict(cfg)
    nums = [v for v in _leaves(d) if isinstance(v, float)]
    assert all(math.isfinite(v) for v in nums), f'a non-finite number was accepted: {d}'
    save_config(cfg, tmp_path/'resolved.yaml')
    assert to_dict(load_config(tmp_path/'resolved.yaml')) == d
    return None

def _leaves(d):
    if isinstance(d, dict): return [x for v in d.values() for x in _leaves(v)]
    if isinstance(d, list): return [x for v in d for x in _leaves(v)]
    return [d]

# ---------------------------------------------------------------- config check, in this process

def test_shipped_configs_pass():
    "The fuzzing starts from valid configs"
    from noisyfast.config import load_config
    assert len(CONFIGS) >= 5
    for f in CONFIGS:
        if 'pretrained: /' not in f.read_text(): load_config(f)

@settings(max_examples=800, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_configs_check_cleanly(tmp_path, case):
    text, what = case
    try: err = check_in_process(tmp_path, text)
    except AssertionError: raise
    except Exception as e: pytest.fail(f'{what}: {type(e).__name__}: {e}'[:2000])
    if "duplicate '" in what: # a duplicated key (not a key named like audit.near_duplicate_threshold): PyYAML
        # alone keeps the last value silently
        assert err is not None and 'is given twice' in str(err), f'{what}: {err}'

# ---------------------------------------------------------------- through the console script

@settings(max_examples=3, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(mutated(names=('quickstart.yaml', 'cifar10-sym50.yaml')))
def test_console_script_mutated_configs(tmp_path, case):
    "The installed console script in a fresh process: exit 0, or exit 2 with the message and no traceback"
    text, what = case
    f = tmp_path/'fuzz.yaml'
    f.write_text(text, encoding='utf-8')
    rc, out, err, sec = noisyfast('config', 'check', f, timeout=120)
    assert 'Traceback' not in err, f'{what}:\n{err}'
    assert rc == 0 or (rc == 2 and 'noisyfast: error: ' in err), f'{what}: exit {rc}\n{err}'

# ---------------------------------------------------------------- through `noisyfast run`, up to training

class StopAtTraining(Exception): "Raised by the stub that replaces training"

def _stop(*args, **kwargs): raise StopAtTraining

@settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(['seed', 'noise.seed', 'noise.rate', 'data.max_train',
                                           'data.max_test', 'data.valid_pct', 'data.test_pct',
                                           'data.n_labeled', 'data.image_size', 'train.bs',
                                           'train.stages.size', 'train.stages.lr', 'train.wd', 'clean.folds',
                                           'name', 'model.arch', 'evaluate.kinds', 'noise.matrix',
                                           'data.classes']), value), min_size=1, max_size=2))
def test_mutated_tiny_runs_refuse_or_reach_training(tmp_path_factory, monkeypatch, changes):
    import noisyfast.pipeline as pl, noisyfast.clean as cl, noisyfast.pseudo as ps, noisyfast.train as tr
    for m in (pl, cl, ps, tr): monkeypatch.setattr(m, 'fit', _stop)
    tmp_path = tmp_path_factory.mktemp('run')
    monkeypatch.chdir(tmp_path) # a relative path lands here, never in the checkout
    f = run_config(tmp_path, data=dict(name='digits', max_train=60), noise=dict(kind='symmetric', rate=0.2),
                   evaluate=dict(robustness=False))
    d = yaml.safe_load(f.read_text())
    for key, v in changes: # set the dotted key in the file (the stages key in every stage)
        parts = key.split('.')
        if parts[:2] == ['train', 'stages']:
            for s in d['train']['stages']: s[parts[2]] = v
            continue
        cur = d
        for p in parts[:-1]: cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    f.write_text(yaml.safe_dump(d, allow_unicode=True))
    try: rc, out, err, sec = main_inproc('run', f)
    except StopAtTraining: rc = None # accepted: it got as far as training
    if rc is not None: assert_user_error(rc, err) # refused: status 2, the message, no traceback
    assert no_run_folder(tmp_path), f'{changes}: {list((tmp_path/"out").rglob("*"))}'
    assert [p.name for p in tmp_path.iterdir()] == ['run.yaml'] or not (tmp_path/'r').exists()

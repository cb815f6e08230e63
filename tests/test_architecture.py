"The shape the architecture issue asked for, checked on the package source"
import inspect, re
from pathlib import Path
import noisyfast
from noisyfast.runs import RUN_FILES, STAGE_FILES

PKG = Path(noisyfast.__file__).parent
SOURCES = {p.name: p.read_text() for p in PKG.glob('*.py') if p.name != '_modidx.py'}

def test_every_run_file_name_is_in_one_module():
    ("config.yaml, metrics.json, ...: written as a quoted name only in noisyfast/runs.py (others ask "
     "RunFolder)")
    names = {v for k, v in {**RUN_FILES, **STAGE_FILES}.items() if v != k} # ('plots' is also its own kind)
    assert len(names) >= 15
    for name in names:
        pat = re.compile(r"""['"/]""" + re.escape(name) + r"""['"]""")
        where = sorted(f for f, s in SOURCES.items() if pat.search(s))
        assert where == ['runs.py'], f'{name!r} is named in {where}'

def test_run_is_a_short_loop_over_stages():
    from noisyfast.pipeline import run, STAGES
    from noisyfast.runs import Stage
    src = inspect.getsource(inspect.unwrap(run))
    assert len(src.splitlines()) <= 40, len(src.splitlines())
    assert 'for st in stages' in src
    assert all(isinstance(s, Stage) for s in STAGES) and len({s.name for s in STAGES}) == len(STAGES)

def test_checkpoint_names_live_in_train():
    "best.pth / last.pth are spelled once: noisyfast.train.checkpoint_file"
    where = sorted(f for f, s in SOURCES.items() if re.search(r"\{kind\}\.pth|'(best|last)\.pth'", s))
    assert where == ['train.py'], where

"The README's Reliability tables cite tests that exist: every test name and test file they name is in tests/"
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def cited(text:str) -> set:
    ("`test_*` names and `test_*.py` files written in the README (not data files such as test_predictions.csv, "
     "nor timm's model names such as test_resnet, nor the comparison table's column test_acc)")
    import timm
    from noisyfast.report import COMPARE_RESULTS
    models = set(timm.list_models('test_*')) | set(COMPARE_RESULTS)
    return {m.group(0) for m in re.finditer(r'\btest_\w+(\.py)?\b(?!\.csv)', text)
            if not m.group(0).endswith('_') and m.group(0) not in models}

def defined() -> set:
    names = set()
    for f in (ROOT/'tests').glob('test_*.py'):
        names.add(f.name)
        names |= set(re.findall(r'^\s*(?:async\s+)?def (test_\w+)\(', f.read_text(), re.M))
    return names

def test_cited_finds_names_and_files():
    s = ('see `test_resume.py::test_sigkill_at_random_moments` and `::test_csv_mistakes[...]`; '
         'test_predictions.csv, `model.arch=test_resnet`')
    assert cited(s) == {'test_resume.py', 'test_sigkill_at_random_moments', 'test_csv_mistakes'}

def test_every_test_the_readme_cites_exists():
    readme = (ROOT/'README.md').read_text()
    missing = sorted(cited(readme) - defined())
    assert not missing, f'README.md cites tests that do not exist in tests/: {missing}'

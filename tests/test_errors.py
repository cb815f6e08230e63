"""One place for checks: every user-facing error is a `NoisyfastError`, and every plain `ValueError` /
`TypeError` left in the package is marked as an internal invariant (`# internal: why`), so the list can be
audited."""
import importlib, inspect, pkgutil, re
from pathlib import Path
import noisyfast
from noisyfast.config import NoisyfastError

PKG = Path(noisyfast.__file__).parent
RAISE = re.compile(r'\braise (ValueError|TypeError)\b|^\s*assert\b')

def unmarked(text:str) -> list:
    ("Lines raising a plain ValueError / TypeError (or asserting) without `# internal` on them or the line "
     "before")
    lines = text.splitlines()
    return [(i + 1, ln.strip()) for i, ln in enumerate(lines)
            if RAISE.search(ln) and '# internal' not in ln and not (i and '# internal' in lines[i - 1])]

def test_unmarked_finds_what_it_should():
    assert unmarked("if x: raise ValueError('a')\n") == [(1, "if x: raise ValueError('a')")]
    assert unmarked("    assert x > 0\n") == [(1, 'assert x > 0')]
    assert unmarked("# internal: why\nraise TypeError('b')\nraise ValueError('c') # internal: why\n") == []
    assert unmarked("raise DataError('a')\nraise ValueError\n") == [(2, 'raise ValueError')]

def test_every_plain_value_or_type_error_is_marked_internal():
    bad = [f'{f.name}:{i}: {ln}' for f in sorted(PKG.glob('*.py')) for i, ln in unmarked(f.read_text())]
    assert not bad, ('a user mistake must raise a NoisyfastError (ConfigError, DataError, ...); an internal '
                     'invariant gets "# internal: why":\n' + '\n'.join(bad))

def test_every_error_class_is_a_noisyfast_error():
    mods = [importlib.import_module(f'noisyfast.{m.name}') for m in pkgutil.iter_modules([str(PKG)])
            if not m.name.startswith('_')]
    errs = {c for m in mods for _, c in inspect.getmembers(m, inspect.isclass)
            if issubclass(c, Exception) and c.__module__.startswith('noisyfast')}
    assert {'ConfigError', 'DataError', 'MissingFile', 'NoiseError', 'TrainError', 'ReportError',
            'RunError'} <= {c.__name__ for c in errs}
    assert not [c.__name__ for c in errs if not issubclass(c, NoisyfastError)]
    assert issubclass(NoisyfastError, ValueError) # `except ValueError` keeps working

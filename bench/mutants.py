"""Mutation testing: plant plausible bugs one at a time and check that the test suite notices.

Each mutant is a one-place edit of an `#| export` cell of a notebook (the source of truth), followed by
`nbdev-export`, in a scratch copy of the repository; then the tests named for it run (notebooks through
`nbdev-test --path`, pytest node ids through pytest). The mutant is *killed* when any of them fails. The script
prints a table and writes results/cpu-mutants.md (.json), with the kill rate.

    python bench/mutants.py                  # every mutant
    python bench/mutants.py --only oof_leak  # some of them
    python bench/mutants.py --list           # what each one plants
    python bench/mutants.py --baseline       # first check that the unmutated copy passes every test used
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import md_table, write_results

ROOT = Path(__file__).resolve().parent.parent

@dataclass
class Mutant:
    name: str # short id
    nb: str # the notebook whose export cell is changed, e.g. '07_clean'
    old: str # text of that cell to replace (must occur exactly once in the notebook's export cells)
    new: str # what the bug looks like
    tests: list # notebooks ('nbs/07_clean.ipynb') and pytest node ids ('tests/test_resume.py::test_x')
    why: str = '' # the plausible bug in words

MUTANTS = [] # filled below, one entry per planted bug

def add(name, nb, old, new, tests, why): MUTANTS.append(Mutant(name, nb, old, new, list(tests), why))

def copy_repo(dest:Path) -> Path:
    "The tracked files (and untracked, not ignored ones) of the working tree, copied to `dest`"
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split('\n')
    for f in filter(None, files):
        src = ROOT/f
        if not src.is_file(): continue
        (dest/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest/f)
    return dest

def export_cells(nb:dict) -> list:
    return [c for c in nb['cells'] if c['cell_type'] == 'code' and '#| export' in ''.join(c['source'])]

def plant(repo:Path, m:Mutant):
    "Apply `m` to its notebook in `repo` and re-export the package"
    path = repo/'nbs'/f'{m.nb}.ipynb'
    nb = json.loads(path.read_text())
    hits = [c for c in export_cells(nb) if m.old in ''.join(c['source'])]
    n = sum(''.join(c['source']).count(m.old) for c in hits)
    if n != 1: raise SystemExit(f'mutant {m.name}: {m.old!r} occurs {n} times in the export cells of {path.name}; '
                                'update the mutant to the current code')
    c = hits[0]
    c['source'] = ''.join(c['source']).replace(m.old, m.new).splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    subprocess.run(['nbdev-export'], cwd=repo, env=env(repo), check=True, capture_output=True)

def env(repo:Path) -> dict:
    return {**os.environ, 'PYTHONPATH': str(repo), 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}

def run_tests(repo:Path, tests:list, timeout:float) -> tuple:
    "(all passed, the first failing test, seconds)"
    t0 = time.time()
    for t in tests:
        cmd = (['nbdev-test', '--path', t] if t.endswith('.ipynb') else
               [sys.executable, '-m', 'pytest', '-q', '-x', '--runslow', '-p', 'no:cacheprovider', t])
        try: r = subprocess.run(cmd, cwd=repo, env=env(repo), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired: return False, f'{t} (timed out after {timeout:.0f} s)', time.time() - t0
        if r.returncode != 0: return False, t, time.time() - t0
    return True, None, time.time() - t0

def restore(repo:Path):
    "Put the pristine notebooks and package back"
    for d in ('nbs', 'noisyfast'):
        shutil.rmtree(repo/d)
        shutil.copytree(ROOT/d, repo/d, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', nargs='*', help='mutant names')
    p.add_argument('--list', action='store_true', help='list the mutants and exit')
    p.add_argument('--baseline', action='store_true', help='first run every test used on the unmutated copy')
    p.add_argument('--timeout', type=float, default=900, help='seconds per test command')
    p.add_argument('--note', default='', help='a line for the results file (e.g. what else ran)')
    a = p.parse_args(argv)
    ms = [m for m in MUTANTS if not a.only or m.name in a.only]
    if a.list:
        for m in ms: print(f'{m.name:24s} {m.nb:12s} {m.why}')
        return
    rows, t_all = [], time.time()
    with tempfile.TemporaryDirectory(prefix='noisyfast-mutants-') as tmp:
        repo = copy_repo(Path(tmp))
        if a.baseline:
            tests = sorted({t for m in ms for t in m.tests})
            ok, bad, sec = run_tests(repo, tests, a.timeout)
            print(f'baseline: {"every test passes" if ok else "FAILS at " + bad} ({sec:.0f} s)')
            if not ok: raise SystemExit('the unmutated code fails a test: fix that first')
        for i, m in enumerate(ms):
            plant(repo, m)
            passed, failed, sec = run_tests(repo, m.tests, a.timeout)
            restore(repo)
            rows.append(dict(mutant=m.name, notebook=m.nb, bug=m.why, killed='yes' if not passed else 'NO',
                             by=failed or '', seconds=round(sec)))
            print(f'[{i + 1}/{len(ms)}] {m.name}: {"killed by " + failed if not passed else "SURVIVED"} '
                  f'({sec:.0f} s)', flush=True)
    killed = sum(r['killed'] == 'yes' for r in rows)
    rate = killed / max(len(rows), 1)
    table = md_table(rows, ['mutant', 'notebook', 'bug', 'killed', 'by', 'seconds'])
    print(f'\n{table}\n\nkilled {killed} of {len(rows)} mutants ({rate:.0%}) in {time.time() - t_all:.0f} s')
    notes = [f'killed {killed} of {len(rows)} mutants: {rate:.0%}',
             'a mutant is killed when one of its tests fails; each test command ran with the slow tier on'] + \
            ([a.note] if a.note else [])
    if not a.only:
        write_results('cpu-mutants', 'Mutation testing: planted bugs the tests catch', settings=dict(
            mutants=len(rows), timeout=a.timeout), sections=[('Mutants', table)], notes=notes,
            data=dict(rows=rows, killed=killed, rate=rate))

if __name__ == '__main__': main()

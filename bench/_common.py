"Shared helpers of the benchmark scripts: machine and version info, tables, results files."
from __future__ import annotations
import datetime, json, os, platform, subprocess
from pathlib import Path
from noisyfast.report import md_table

RESULTS = Path(__file__).parent/'results'
# the last line of a measured child process: its own peak resident memory since it started (VmHWM). Not
# ru_maxrss, which a process keeps across exec from the one that started it: a child of a 1.3 GiB pytest
# worker reported 1.3 GiB whatever it did
PEAK_RSS = ('print("peak_rss_kib", next(l.split()[1] for l in open("/proc/self/status") '
            'if l.startswith("VmHWM:")), file=sys.stderr)')

def cpu_model() -> str:
    "The CPU model name from /proc/cpuinfo (or platform's guess)"
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or 'unknown'

def gpu_name() -> str:
    import torch
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'

def load_average() -> str:
    try: return ' '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError: return 'unknown'

def machine() -> dict:
    "Where a benchmark ran"
    import torch
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    return dict(cpu=cpu_model(), cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                memory_gib=round(mem, 1), gpu=gpu_name(), python=platform.python_version(),
                load_average_at_start=load_average())

def versions() -> dict:
    import torch, fastai, timm, cleanlab, numpy, noisyfast
    return dict(torch=torch.__version__, fastai=fastai.__version__, timm=timm.__version__,
                cleanlab=cleanlab.__version__, numpy=numpy.__version__, noisyfast=noisyfast.__version__,
                noisyfast_commit=git_commit())

def git_commit(where=None) -> str:
    "The short commit of the checkout at `where` (default: this one), and whether it has uncommitted changes"
    where = where or Path(__file__).parent
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True,
                             cwd=where, timeout=10)
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], capture_output=True,
                               text=True, cwd=where, timeout=10).stdout.strip()
        return out.stdout.strip() + (' (with uncommitted changes)' if dirty else '')
    except (OSError, subprocess.SubprocessError): return 'unknown'

def tree_env(tree, cache=None, **more) -> dict:
    "Environment of a process running `tree`'s package: offline, no display, `cache` as its cache folder"
    env = {**os.environ, 'PYTHONPATH': str(tree), 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg', **more}
    if cache is not None: env['NOISYFAST_CACHE'] = str(cache)
    return env

def now() -> str: return datetime.datetime.now().astimezone().isoformat(timespec='seconds')

def cell(v) -> str:
    "A bench table's cell (md_table's `fmt`): floats to 3 significant digits (whole from 100), else `str`"
    return (f'{v:,.3g}' if abs(v) < 100 else f'{v:,.0f}') if isinstance(v, float) else str(v)

def kv_table(d:dict) -> str:
    rows = [dict(k=k, v=json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in d.items()]
    return md_table(rows, [('k', 'setting'), ('v', 'value')], fmt=cell)

def write_results(stem:str, title:str, *, settings:dict, sections:list, notes:list, data:dict,
                  info:dict=None, folder:Path=None):
    "Write {folder}/{stem}.md (title, notes, tables, settings, machine, versions) and .json; folder: results/"
    info = info or dict(date=now(), machine=machine(), versions=versions())
    out = Path(folder) if folder is not None else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    md = [f'# {title}', '', f"Run {info['date']}.", '']
    md += [f'- {n}' for n in notes] + ['']
    for head, body in sections: md += [f'## {head}', '', body, '']
    md += ['## Settings', '', kv_table(settings), '', '## Machine', '', kv_table(info['machine']), '',
           '## Versions', '', kv_table(info['versions']), '']
    (out/f'{stem}.md').write_text('\n'.join(md))
    obj = dict(title=title, **info, settings=settings, notes=notes, results=data)
    (out/f'{stem}.json').write_text(json.dumps(obj, indent=1, default=str) + '\n')
    return out/f'{stem}.md'

def runs_results(a, title:str, rows:list, cols:list, notes:list) -> list:
    "A before/after script's end: `rows` as a 'Runs' table in results/{a.out}.md (.json); smoke: printed"
    if a.smoke: print('\n'.join(notes)); return rows # the script's check: nothing written
    write_results(a.out, title, settings=vars(a), sections=[('Runs', md_table(rows, cols, fmt=cell))],
                  notes=notes, data=dict(rows=rows))
    return rows

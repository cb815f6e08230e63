"""Time and peak memory of the cleaning step on synthetic predicted probabilities.

What `noisyfast.clean.find_issues` runs, piece by piece, each in its own subprocess per size:
cleanlab's `filter.find_label_issues(filter_by='prune_by_noise_rate')` (n_jobs 1 and 2),
`rank.get_label_quality_scores`, `count.compute_confident_joint`, the whole `find_issues`, and cleanlab's
low-memory `experimental.label_issues_batched.find_label_issues_batched` (in-memory and memory-mapped inputs),
with the agreement of its flagged set with the standard one.

Probabilities: softmax of Gaussian logits with a random margin on the true class (float32), labels flipped
uniformly to another class for `--noise` of the items. Memory: growth of the process's peak RSS (VmHWM,
reset before the call) above its RSS after loading the arrays; and tracemalloc's peak in one more run.

  python bench/cleanlab_cost.py                         # 50,000 x 10 and 1,000,000 x 100
  python bench/cleanlab_cost.py --sizes 50000x10 --repeats 3
"""
from __future__ import annotations
import argparse, json, resource, statistics, subprocess, sys, tempfile, time, tracemalloc
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, versions, now, load_average, cell, write_results
from noisyfast.report import md_table

FILTER = 'prune_by_noise_rate' # noisyfast.clean.find_issues' default

# op: (what it runs, takes n_jobs)
OPS = {
    'find_label_issues': ("cleanlab.filter.find_label_issues(filter_by='prune_by_noise_rate')", True),
    'get_label_quality_scores': ('cleanlab.rank.get_label_quality_scores (self_confidence)', False),
    'compute_confident_joint': ('cleanlab.count.compute_confident_joint', False),
    'noisyfast_find_issues': ('noisyfast.clean.find_issues: the three above + estimate_latent', False),
    'find_label_issues_lsc': ("cleanlab.filter.find_label_issues(filter_by='low_self_confidence')", False),
    'batched': ('find_label_issues_batched, in-memory arrays', True),
    'batched_mmap': ('find_label_issues_batched, .npy memory-mapped (labels_file, pred_probs_file)', True),
}

def make_data(n, k, noise, seed, folder: Path, chunk=100_000):
    "Write labels.npy (noisy), truth.npy, probs.npy (float32 N×K) to `folder`, chunk by chunk"
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    flip = rng.random(n) < noise
    labels = np.where(flip, (truth + rng.integers(1, k, n)) % k, truth)
    probs = np.lib.format.open_memmap(folder/'probs.npy', mode='w+', dtype=np.float32, shape=(n, k))
    for i in range(0, n, chunk):
        t = truth[i:i + chunk]
        z = rng.standard_normal((len(t), k)).astype(np.float32)
        z[np.arange(len(t)), t] += rng.normal(3.0, 1.5, len(t)).astype(np.float32)
        z = np.exp(z - z.max(1, keepdims=True))
        probs[i:i + chunk] = z / z.sum(1, keepdims=True)
    probs.flush(); del probs
    np.save(folder/'labels.npy', labels); np.save(folder/'truth.npy', truth)
    acc = float((np.load(folder/'probs.npy', mmap_mode='r')[:100_000].argmax(1) == truth[:100_000]).mean())
    return dict(n=n, k=k, noise=float(flip.mean()), model_acc_vs_truth=acc, probs_mib=n * k * 4 / 2**20)

def maxrss_mib(who=resource.RUSAGE_SELF): return resource.getrusage(who).ru_maxrss / 1024

def proc_status_mib(key):
    "VmRSS or VmHWM (peak RSS since exec, or since `reset_peak`) of this process, from /proc"
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(key + ':'): return int(line.split()[1]) / 1024

def reset_peak():
    "Reset VmHWM to the current RSS (Linux >= 4.0)"
    # not ru_maxrss: a process started by a big parent inherits the parent's RSS as its own peak
    Path('/proc/self/clear_refs').write_text('5')

def child(op, folder: Path, n_jobs, batch_size, out: Path, trace=False):
    "Run one op in this (fresh) process and write time, memory and the flagged mask (or tracemalloc's peak)"
    import cleanlab.filter, cleanlab.rank, cleanlab.count
    from cleanlab.experimental.label_issues_batched import find_label_issues_batched
    if op == 'noisyfast_find_issues': from noisyfast.clean import find_issues
    mmap = op == 'batched_mmap'
    labels = None if mmap else np.load(folder/'labels.npy')
    probs = None if mmap else np.load(folder/'probs.npy')
    kids = maxrss_mib(resource.RUSAGE_CHILDREN) # processes started by the imports, if any
    if trace: tracemalloc.start()
    reset_peak()
    base, t0, c0 = proc_status_mib('VmRSS'), time.perf_counter(), time.process_time()
    if op == 'find_label_issues':
        res = cleanlab.filter.find_label_issues(labels, probs, filter_by=FILTER, frac_noise=1.0,
                                                n_jobs=n_jobs)
    elif op == 'find_label_issues_lsc':
        res = cleanlab.filter.find_label_issues(labels, probs, filter_by='low_self_confidence', n_jobs=1)
    elif op == 'get_label_quality_scores': res = cleanlab.rank.get_label_quality_scores(labels, probs)
    elif op == 'compute_confident_joint': res = cleanlab.count.compute_confident_joint(labels, probs)
    elif op == 'noisyfast_find_issues': res = find_issues(labels, probs, filter_by=FILTER)['is_issue']
    else:
        kw = dict(labels=labels, pred_probs=probs)
        if mmap: kw = dict(labels_file=str(folder/'labels.npy'), pred_probs_file=str(folder/'probs.npy'))
        res = find_label_issues_batched(**kw, batch_size=batch_size, n_jobs=n_jobs, verbose=False,
                                        return_mask=True)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    workers = maxrss_mib(resource.RUSAGE_CHILDREN)
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        return out.write_text(json.dumps(dict(traced_peak_mib=peak, traced_seconds=dt)))
    r = dict(seconds=dt, cpu_seconds=cpu, peak_extra_mib=proc_status_mib('VmHWM') - base, base_rss_mib=base,
             workers_peak_rss_mib=workers if workers > kids else 0.)
    if isinstance(res, np.ndarray) and res.dtype == bool:
        r['flagged'] = int(res.sum()); np.save(out.with_suffix('.npy'), res)
    out.write_text(json.dumps(r))

def run_op(op, folder, n_jobs, batch_size, timeout, trace=False) -> dict:
    "One op in a subprocess; its result, or the reason there is none"
    out = folder/f'{op}-{n_jobs}.json'
    cmd = [sys.executable, __file__, '--child', op, '--folder', str(folder), '--n-jobs', str(n_jobs),
           '--batch-size', str(batch_size), '--child-out', str(out)] + (['--child-trace'] if trace else [])
    try: p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: return dict(error=f'timed out after {timeout} s')
    if p.returncode != 0: return dict(error=f'exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}')
    r = json.loads(out.read_text())
    if out.with_suffix('.npy').exists(): r['mask'] = str(out.with_suffix('.npy'))
    return r

def agreement(a, b) -> dict:
    "Jaccard, precision and recall of flagged set `a` against reference `b`"
    inter = int((a & b).sum())
    return dict(jaccard=inter / max(int((a | b).sum()), 1), precision=inter / max(int(a.sum()), 1),
                recall=inter / max(int(b.sum()), 1))

def plan(n, args):
    "(op, n_jobs) pairs measured at size n"
    ops = [(op, nj) for op, (_, takes) in OPS.items() for nj in (args.n_jobs if takes else [1])]
    return [(op, nj) for op, nj in ops if not (op == 'find_label_issues_lsc' and n > args.lsc_max)]

def run_size(n, k, args) -> dict:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        data = make_data(n, k, args.noise, args.seed, folder)
        print(f'{n:,} x {k}: data in {time.perf_counter() - t0:.1f} s {data}', flush=True)
        rows, masks = [], {}
        for op, nj in plan(n, args):
            reps = [run_op(op, folder, nj, args.batch_size, args.timeout)
                    for _ in range(args.repeats if n * k <= args.repeat_max else 1)]
            ok = [r for r in reps if 'error' not in r]
            err = next((r['error'] for r in reps if 'error' in r), '')
            row = dict(op=op, n_jobs=nj, repeats=len(ok), error=err)
            if ok:
                for key in ('seconds', 'cpu_seconds', 'peak_extra_mib', 'workers_peak_rss_mib',
                            'base_rss_mib'): row[key] = statistics.median(r[key] for r in ok)
                row['min_s'], row['max_s'] = min(r['seconds'] for r in ok), max(r['seconds'] for r in ok)
                if 'mask' in ok[0]:
                    masks[(op, nj)], row['flagged'] = np.load(ok[0]['mask']), ok[0]['flagged']
            if args.trace and nj == 1: # one more run under tracemalloc: numpy's allocations, exactly
                row['traced_peak_mib'] = run_op(op, folder, nj, args.batch_size, args.timeout, True).get(
                    'traced_peak_mib', float('nan'))
            print(f"  {op:<26} n_jobs={nj}: {row.get('seconds', float('nan')):8.2f} s, "
                  f"+{row.get('peak_extra_mib', float('nan')):7.0f} MiB peak {row['error']}", flush=True)
            rows.append(row)
        truth = np.load(folder/'labels.npy') != np.load(folder/'truth.npy')
        agree = []
        ref = masks.get(('find_label_issues', 1))
        lsc = masks.get(('find_label_issues_lsc', 1))
        for key, m in masks.items():
            a = dict(op=key[0], n_jobs=key[1], flagged=int(m.sum()),
                     **{f'truth_{x}': v for x, v in agreement(m, truth).items()})
            if ref is not None: a.update({f'std_{x}': v for x, v in agreement(m, ref).items()})
            if lsc is not None: a.update({f'lsc_{x}': v for x, v in agreement(m, lsc).items()})
            agree.append(a)
    return dict(data=data, rows=rows, agreement=agree, true_noisy=int(truth.sum()))

def tables(n, k, res):
    d = res['data']
    head = (f"{n:,} x {k}: float32 probabilities {d['probs_mib']:,.0f} MiB, {d['noise']:.1%} labels flipped, "
            f"argmax accuracy vs the true labels {d['model_acc_vs_truth']:.1%}")
    t1 = md_table(res['rows'], [
        ('op', 'call'), ('n_jobs', 'n_jobs'), ('seconds', 'wall s (median)'), ('min_s', 'min s'),
        ('max_s', 'max s'), ('repeats', 'runs'), ('cpu_seconds', 'CPU s (this process)'),
        ('peak_extra_mib', 'peak RSS growth MiB'), ('traced_peak_mib', 'tracemalloc peak MiB'),
        ('workers_peak_rss_mib', 'worker peak RSS MiB'), ('flagged', 'flagged'), ('error', 'error')],
        fmt=cell)
    t2 = md_table(res['agreement'], [
        ('op', 'flagged set of'), ('n_jobs', 'n_jobs'), ('flagged', 'flagged'),
        ('std_jaccard', 'Jaccard vs standard'), ('std_precision', 'precision vs std'),
        ('std_recall', 'recall vs std'), ('lsc_jaccard', 'Jaccard vs low_self_conf.'),
        ('truth_precision', 'precision vs true flips'), ('truth_recall', 'recall vs true flips')], fmt=cell)
    std = f"`find_label_issues(filter_by='{FILTER}')`, n_jobs=1"
    return head, (f"{reading(res)}\n\n{t1}\n\nAgreement (standard = {std}; true flips: "
                  f"{res['true_noisy']:,}):\n\n{t2}")

def reading(res) -> str:
    "The main numbers of one size in a few sentences"
    row = {(r['op'], r['n_jobs']): r for r in res['rows'] if 'seconds' in r}
    b = next((a for a in res['agreement'] if (a['op'], a['n_jobs']) == ('batched', 1)), {})
    get = lambda op, k, nj=1: row.get((op, nj), {}).get(k, float('nan'))
    nan = float('nan')
    fi, bt, bm = 'noisyfast_find_issues', 'batched', 'batched_mmap'
    return (f"In short: `noisyfast.clean.find_issues` took {get(fi, 'seconds'):.2f} s, its peak RSS grew by "
            f"{get(fi, 'peak_extra_mib'):,.0f} MiB (tracemalloc peak {get(fi, 'traced_peak_mib'):,.0f} MiB). "
            f"`find_label_issues_batched` (n_jobs=1) took {get(bt, 'seconds'):.2f} s, "
            f"+{get(bt, 'peak_extra_mib'):,.0f} MiB (tracemalloc {get(bt, 'traced_peak_mib'):,.0f} MiB); "
            f"memory-mapped {get(bm, 'seconds'):.2f} s, +{get(bm, 'peak_extra_mib'):,.0f} MiB counting the "
            f"file pages read (tracemalloc {get(bm, 'traced_peak_mib'):,.0f} MiB). It flagged "
            f"{b.get('flagged', 0):,} items against the standard {get('find_label_issues', 'flagged'):,}: "
            f"Jaccard {b.get('std_jaccard', nan):.2f}, precision {b.get('std_precision', nan):.2f}, recall "
            f"{b.get('std_recall', nan):.2f} (against `low_self_confidence`: Jaccard "
            f"{b.get('lsc_jaccard', nan):.2f}). With n_jobs=2 instead of 1, `find_label_issues` ran at "
            f"{get('find_label_issues', 'seconds') / get('find_label_issues', 'seconds', 2):.2f}x the speed, "
            f"the batched path at {get(bt, 'seconds') / get(bt, 'seconds', 2):.2f}x.")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--sizes', default='50000x10,1000000x100', help='comma-separated NxK')
    p.add_argument('--noise', type=float, default=0.3)
    p.add_argument('--n-jobs', default='1,2', type=lambda s: [int(x) for x in s.split(',')])
    p.add_argument('--batch-size', type=int, default=10_000, help='find_label_issues_batched batch size')
    p.add_argument('--repeats', type=int, default=3, help='runs of each call (sizes up to --repeat-max)')
    p.add_argument('--repeat-max', type=int, default=10_000_000, help='repeat only sizes with N*K <= this')
    p.add_argument('--lsc-max', type=int, default=10**9, help="skip filter_by='low_self_confidence' above N")
    p.add_argument('--timeout', type=int, default=1800, help='seconds per call')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--tmp', help='folder for the temporary arrays (default: the system temp folder)')
    p.add_argument('--note', action='append', default=[], help='a line for the results file (repeatable)')
    p.add_argument('--out', default=None, help='results stem (default: cpu-cleanlab)')
    p.add_argument('--render', metavar='JSON', help='rewrite the .md of a results .json (adding any --note); '
                   'measure nothing')
    p.add_argument('--trace', action=argparse.BooleanOptionalAction, default=True,
                   help='also run each n_jobs=1 call once under tracemalloc (peak of traced allocations)')
    p.add_argument('--child', choices=list(OPS), help=argparse.SUPPRESS)
    p.add_argument('--child-trace', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--folder', help=argparse.SUPPRESS)
    p.add_argument('--child-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, Path(args.folder), args.n_jobs[0], args.batch_size, Path(args.child_out),
                     args.child_trace)
    if args.render: return render(args.render, args.note)
    sizes = [tuple(int(v) for v in s.split('x')) for s in args.sizes.split(',')]
    date, load = now(), load_average() # machine() and versions() import torch: at the end, keep this small
    results = {f'{n}x{k}': run_size(n, k, args) for n, k in sizes}
    info = dict(date=date, machine=dict(machine(), load_average_at_start=load), versions=versions())
    notes = ['CPU only (cleanlab does not use a GPU). **No GPU was available for this session**; the GPU '
             'targets of the benchmark issue (fast-path throughput, CIFAR-10 time-to-accuracy, the whole '
             'cifar10n-worst pipeline in <= 10 min on an H100) were not measured here: this file is only '
             'the cleaning step, which runs on the CPU on every machine.'] + args.note + [
             'Each call ran in a fresh subprocess; peak RSS growth = VmHWM after the call (reset just before '
             'it via /proc/self/clear_refs) minus VmRSS before it, after the arrays were loaded: what the '
             'call itself adds at its peak. With n_jobs > 1 cleanlab forks workers; their largest peak RSS '
             '(ru_maxrss of the children) is listed apart and counts pages shared with the parent. For the '
             'memory-mapped run the growth includes the file pages read in (page cache the kernel can '
             'drop), not only heap. The tracemalloc column (one more run of each n_jobs=1 call under '
             'tracemalloc, not timed) is the peak of what Python and numpy allocated during the call.',
             '`find_label_issues_batched` approximates `filter_by=\'low_self_confidence\'`, not '
             f"`{FILTER}` (its docstring says so), so some disagreement with the standard set is by design."]
    settings = dict(sizes=args.sizes, noise=args.noise, n_jobs=args.n_jobs, batch_size=args.batch_size,
                    repeats=args.repeats, repeat_max=args.repeat_max, seed=args.seed, filter_by=FILTER,
                    probabilities='softmax(N(0,1) logits + N(3, 1.5) margin on the true class), float32',
                    noise_model='uniform flip to another class')
    write(results, args.out or 'cpu-cleanlab', notes, settings, info)

TITLE = 'Cost of the cleaning step (cleanlab) on synthetic probabilities'

def write(results, stem, notes, settings, info):
    sections = [tables(*map(int, key.split('x')), res) for key, res in results.items()]
    for h, b in sections: print(f'\n## {h}\n\n{b}')
    path = write_results(stem, TITLE, settings=settings, sections=sections, notes=notes, data=results,
                         info=info)
    print(f'wrote {path}')

def render(path, extra_notes=()):
    "Write the markdown of a results .json again (new tables, added notes), without measuring"
    d = json.loads(Path(path).read_text())
    info = dict(date=d['date'], machine=d['machine'], versions=d['versions'])
    write(d['results'], Path(path).stem, d['notes'] + list(extra_notes), d['settings'], info)

if __name__ == '__main__': main()

"""Training throughput of one model under three input pipelines, side by side in one process:

  (a) fastai   fastai's DataBlock pipeline (`noisyfast.loaders.fastai_dls`): JPEG files, PIL decoding and
               item transforms in worker processes, flip + normalize per batch; `Learner.fit`
  (b) fast     noisyfast's fast path (`make_dls` over images decoded once into a uint8 tensor on the
               device, augmented per batch there); `Learner.fit`
  (c) ceiling  the same training step (model, fastai optimizer, loss, precision) in a plain Python loop
               over a synthetic batch already on the device: no data pipeline, no Learner
  (c2) learner `Learner.fit` over that synthetic on-device batch: (c) plus the Learner's own overhead

Only training steps are timed (validation is cancelled), after `--warmup` batches; img/s is extrapolated
to s/epoch over the data set's whole train set.

  python bench/pipeline.py --case resnet18-32               # CPU: a small slice, a few batches
  python bench/pipeline.py --all --device cuda              # GPU: full epochs, each case in its own process
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np, torch
from fastai.callback.core import Callback, CancelFitException, CancelValidException
from fastai.data.core import DataLoaders
from fastai.torch_core import set_seed
from noisyfast.config import load_config
from noisyfast.data import load_source, split_data, load_images
from noisyfast.loaders import ArrayData, make_dls, fastai_dls, channel_stats
from noisyfast.train import create_learner, resolve_precision
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, versions, now, load_average, cell, write_results
from noisyfast.report import md_table

# per device kind: cpu = a slice measured within one epoch; cuda = full epochs
CASES = {
    'resnet18-32': dict(arch='resnet18', data='cifar10', size=32, augment='flip',
                        cpu=dict(bs=64, warmup=2, batches=10), cuda=dict(bs=512, warmup=10, epochs=2)),
    'resnet50-128': dict(arch='resnet50', data='cifar10', size=128, augment='rrc',
                         cpu=dict(bs=8, warmup=1, batches=3), cuda=dict(bs=256, warmup=10, epochs=2)),
    'xresnet50-128': dict(arch='xresnet50', data='imagenette', size=128, augment='rrc',
                          cpu=dict(bs=8, warmup=1, batches=3), cuda=dict(bs=256, warmup=10, epochs=2)),
    # a probe, not a use case: timm's 0.4 M-parameter test_resnet makes the model step cheap, so what each
    # pipeline costs per batch shows even on a CPU
    'test_resnet-32': dict(arch='test_resnet', data='cifar10', size=32, augment='flip',
                           cpu=dict(bs=256, warmup=2, batches=20), cuda=dict(bs=512, warmup=10, epochs=2)),
}
PIPELINES = ('fastai', 'fast', 'ceiling', 'learner')
LABELS = dict(fastai='(a) fastai DataBlock', fast='(b) noisyfast fast path',
              ceiling='(c) ceiling, plain loop', learner='(c2) Learner, synthetic')
LR = 1e-3

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)

class Timer(Callback):
    "Time training batches after `warmup` (validation cancelled); stop the fit after `stop` batches"
    order = 100
    def __init__(self, device, warmup, stop=None): self.device, self.warmup, self.stop = device, warmup, stop
    def before_fit(self): self.n, self.spans, self.on = 0, [], False
    def _start(self): sync(self.device); self.t, self.imgs, self.on = time.perf_counter(), 0, True
    def _close(self):
        if self.on and self.imgs:
            sync(self.device); self.spans.append((time.perf_counter() - self.t, self.imgs))
        self.on = False
    def before_train(self):
        if self.n >= self.warmup: self._start() # a later epoch: its start (workers, shuffling) is timed
    def after_batch(self):
        if not self.training: return
        self.n += 1
        if self.n == self.warmup: self._start()
        elif self.on: self.imgs += len(self.yb[0])
        if self.stop and self.n >= self.stop: self._close(); raise CancelFitException()
    def after_train(self): self._close()
    def before_validate(self): raise CancelValidException()
    @property
    def result(self):
        s, n = sum(t for t, _ in self.spans), sum(i for _, i in self.spans)
        return dict(img_s=n / s if s else float('nan'), seconds=s, images=n, batches=self.n - self.warmup)

class SyntheticDL:
    "The same on-device batch every step, with the part of fastai's DataLoader interface Learner uses"
    def __init__(self, x, y, n_batches): self.x, self.y, self.n, self.device = x, y, n_batches, x.device
    def __len__(self): return self.n
    def __iter__(self): return ((self.x, self.y) for _ in range(self.n))
    @property
    def dataset(self): return self
    def new(self, **kwargs): return self
    def to(self, device): self.device = torch.device(device); return self

def synthetic_batch(bs, size, c, device):
    "Random images (channels_last, like the fast path's batches) and labels on the device"
    g = torch.Generator().manual_seed(0)
    x = torch.randn(bs, 3, size, size, generator=g).to(device).contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, c, (bs,), generator=g).to(device)

def new_learner(dls, n_classes, arch, precision, seed, folder):
    "The learner `noisyfast.train.fit` builds: timm/fastai body + fastai head, Adam, cross-entropy"
    cfg = load_config(None, model=dict(arch=arch, pretrained=False))
    dev = torch.device(dls.device) if dls.device is not None else torch.device('cpu')
    set_seed(seed, reproducible=dev.type != 'cuda') # as noisyfast.train.fit: on a GPU, cuDNN benchmark on
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn, _ = create_learner(dls, n_classes, cfg.model, cfg.train, n_in=3, path=folder)
    if dev.type == 'cuda': learn.model.to(memory_format=torch.channels_last) # as fit does on a GPU
    if precision == 'fp16': learn.to_fp16()
    elif precision == 'bf16': learn.to_bf16()
    return learn

def fit_timed(learn, device, warmup, epochs, stop):
    "`Learner.fit` at a constant lr, without progress bar or logging, timed by `Timer`"
    timer = Timer(device, warmup, stop)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs, LR, cbs=timer)
    return timer.result

def autocast(device, precision):
    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16).get(precision)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

def ceiling_loop(learn, x, y, device, precision, warmup, steps):
    "The training step of `learn` (model, fastai optimizer, loss, autocast) on one on-device batch"
    model = learn.model.to(device).train()
    learn.create_opt(); learn.opt.set_hypers(lr=LR)
    opt, loss_func = learn.opt, learn.loss_func
    scaler = torch.amp.GradScaler('cuda') if precision == 'fp16' else None
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
    for i in range(warmup + steps):
        if i == warmup: sync(device); t0 = time.perf_counter()
        with autocast(device, precision): loss = loss_func(model(x).float(), y)
        if scaler: scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        else: loss.backward(); opt.step()
        opt.zero_grad()
    sync(device)
    s = time.perf_counter() - t0
    return dict(img_s=steps * len(x) / s, seconds=s, images=steps * len(x), batches=steps)

def timed(f, device, n=5):
    "Median milliseconds of `f()` over `n` calls, after one warm-up call"
    f(); ts = []
    for _ in range(n):
        sync(device); t0 = time.perf_counter(); f(); sync(device); ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)

def breakdown(fast, learn, x, y, device, precision) -> dict:
    "Milliseconds of the pieces of one training step: batch indexing, augmentation, fwd+bwd, optimizer"
    dl, g = fast.train, torch.Generator().manual_seed(0)
    idx = torch.randperm(dl.n, generator=g)[:dl.bs]
    bx = dl.x[idx.to(dl.x.device)]
    model = learn.model.to(device).train()
    learn.create_opt(); learn.opt.set_hypers(lr=LR)
    def fwd_bwd():
        learn.opt.zero_grad()
        with autocast(device, precision): loss = learn.loss_func(model(x).float(), y)
        loss.backward()
    res = {'index the uint8 images (fast path)': timed(lambda: dl.x[idx.to(dl.x.device)].to(device), device),
           'BatchAug (fast path)': timed(lambda: dl.tfm(bx, train=True, g=g), device),
           f'forward + backward ({precision})': timed(fwd_bwd, device, 3)}
    fwd_bwd()
    res['fastai Adam step (what noisyfast uses)'] = timed(learn.opt.step, device)
    ps = [p for p in model.parameters() if p.grad is not None]
    for name, foreach in [('torch AdamW step, foreach', True), ('torch AdamW step, for-loop', False)]:
        res[name] = timed(torch.optim.AdamW(ps, lr=LR, foreach=foreach).step, device)
    res['(count) parameter tensors'] = len(ps)
    return res

def case_settings(args, device) -> dict:
    case = CASES[args.case]
    d = dict(case[device.type])
    for k in ('bs', 'warmup', 'batches', 'epochs', 'n_train'):
        if getattr(args, k) is not None: d[k] = getattr(args, k)
    if device.type == 'cpu': # one epoch holding exactly the warm-up and the timed batches
        d.setdefault('n_train', d['bs'] * (d['warmup'] + d['batches'])); d.setdefault('epochs', 1)
    return dict(case=args.case, arch=case['arch'], data=case['data'], size=case['size'],
                augment=case['augment'], device=str(device), precision=resolve_precision('auto', device),
                repeats=args.repeats, workers=args.workers or os.cpu_count(),
                torch_threads=torch.get_num_threads(), seed=args.seed, lr=LR,
                decode_sample=args.decode_sample, **d)

def prepare(st, device):
    "A case's data: the train slice, decoded images, both pipelines' DataLoaders, one-time costs"
    src = load_source(st['data'], download_ok=False)
    data = split_data(src, seed=st['seed'])
    rng = np.random.default_rng(st['seed'])
    n = min(st.get('n_train') or len(data.train), len(data.train))
    train = data.train.subset(np.sort(rng.choice(len(data.train), n, replace=False)))
    valid = data.valid.subset(np.arange(min(len(data.valid), 2 * st['bs']))) # never run: validation cancelled
    t0 = time.perf_counter()
    arrays = ArrayData(device=device) # as noisyfast.train.fit: native size, on the training device
    tx, vx = arrays.images(train), arrays.images(valid)
    sync(device)
    decode_s = time.perf_counter() - t0
    stats = channel_stats(tx[:1000].cpu().numpy()) # float64 inside: 16 bytes per pixel value, keep it small
    kw = dict(size=st['size'], bs=st['bs'], augment=st['augment'], stats=stats, seed=st['seed'],
              device=device)
    fast = make_dls(tx, train.y, vx, valid.y, **kw)
    t0 = time.perf_counter()
    slow = fastai_dls(train, valid, data.vocab, num_workers=st['workers'], **kw)
    fastai_setup_s = time.perf_counter() - t0
    k = min(len(data.train), st['decode_sample']) # decoding speed on more files than the slice holds
    t0 = time.perf_counter()
    load_images(data.train.x[:k])
    decode_ms = 1e3 * (time.perf_counter() - t0) / k
    info = dict(n_train=len(train), n_full=len(src.train_x), decode_s=decode_s, fastai_setup_s=fastai_setup_s,
                decoded_shape=list(tx.shape), decoded_mib=tx.numel() / 2**20, decode_sample=k,
                decode_ms_per_img=decode_ms)
    return data.c, fast, slow, info

def run_case(args) -> dict:
    "Every pipeline of one case, `args.repeats` times interleaved, in this process"
    device = torch.device(args.device)
    st = case_settings(args, device)
    print(f"{st['case']}: {st['arch']} @ {st['size']} px, {st['data']}, bs {st['bs']}, {st['precision']}, "
          f"{device}, {st['torch_threads']} torch threads", flush=True)
    load_start = load_average()
    c, fast, slow, info = prepare(st, device)
    st['n_train'], info['load_average_start'] = info['n_train'], load_start
    stop = st.get('batches') and st['warmup'] + st['batches']
    steps = stop - st['warmup'] if stop else st['epochs'] * len(fast.train) - st['warmup']
    steps = min(steps, args.max_ceiling_steps)
    x, y = synthetic_batch(st['bs'], st['size'], c, device)
    synth = lambda n: DataLoaders(*[SyntheticDL(x, y, n)] * 2, device=device)
    runs = {p: [] for p in args.pipelines}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for p in args.pipelines:
                dls = dict(fastai=slow, fast=fast).get(p) or synth(st['warmup'] + steps)
                learn = new_learner(dls, c, st['arch'], st['precision'], st['seed'], tmp)
                w = st['warmup']
                if p == 'ceiling': res = ceiling_loop(learn, x, y, device, st['precision'], w, steps)
                elif p == 'learner': res = fit_timed(learn, device, w, 1, w + steps)
                else: res = fit_timed(learn, device, w, st['epochs'], stop)
                if device.type == 'cuda': res['peak_gpu_mib'] = torch.cuda.max_memory_allocated() / 2**20
                runs[p].append(res)
                print(f"  repeat {r}: {LABELS[p]:<28} {res['img_s']:9.1f} img/s over {res['batches']} "
                      'batches', flush=True)
                del learn
        bd = None
        if args.breakdown:
            learn = new_learner(synth(1), c, st['arch'], st['precision'], st['seed'], tmp)
            bd = breakdown(fast, learn, x, y, device, st['precision'])
    info['load_average_end'] = load_average()
    return dict(settings=st, info=info, runs=runs, summary=summarize(runs, info['n_full']), breakdown=bd)

def summarize(runs, n_full) -> dict:
    med = {p: statistics.median(r['img_s'] for r in rs) for p, rs in runs.items()}
    rows = {p: dict(img_s=m, min=min(r['img_s'] for r in runs[p]), max=max(r['img_s'] for r in runs[p]),
                    s_epoch=n_full / m) for p, m in med.items()}
    ratio = lambda a, b: med[a] / med[b] if a in med and b in med else float('nan')
    return dict(rows=rows, fast_over_ceiling=ratio('fast', 'ceiling'),
                fast_over_fastai=ratio('fast', 'fastai'), fast_over_learner=ratio('fast', 'learner'),
                learner_over_ceiling=ratio('learner', 'ceiling'))

def tables(res) -> tuple:
    "The heading and markdown body of one case's results"
    st, info, sm, runs = res['settings'], res['info'], res['summary'], res['runs']
    mem = lambda p: f"{runs[p][0]['peak_gpu_mib']:,.0f}" if 'peak_gpu_mib' in runs[p][0] else '-'
    rows = [dict(p=LABELS[p], img_s=r['img_s'], rng=f"{r['min']:,.1f}–{r['max']:,.1f}", ep=r['s_epoch'],
                 n=len(runs[p]), b=runs[p][0]['batches'], mem=mem(p)) for p, r in sm['rows'].items()]
    head = (f"{st['case']}: {st['arch']} @ {st['size']} px on {st['data']}, bs {st['bs']}, "
            f"{st['precision']}, {st['device']}, {info['n_train']:,} train images")
    t1 = md_table(rows, [('p', 'pipeline'), ('img_s', 'img/s (median)'), ('rng', 'min–max'),
                         ('n', 'repeats'), ('b', 'timed batches/repeat'),
                         ('ep', f"s/epoch ({info['n_full']:,} img, extrapolated)"), ('mem', 'peak GPU MiB')],
                  fmt=cell)
    t2 = md_table([dict(k='(b) / (c)  fast path / ceiling', v=sm['fast_over_ceiling']),
                   dict(k='(b) / (a)  fast path / fastai DataBlock', v=sm['fast_over_fastai']),
                   dict(k='(b) / (c2) fast path / Learner on the synthetic batch', v=sm['fast_over_learner']),
                   dict(k='(c2) / (c) Learner on the synthetic batch / plain loop',
                        v=sm['learner_over_ceiling'])],
                  [('k', 'ratio'), ('v', 'value')], fmt=cell)
    full = info['decode_ms_per_img'] * info['n_full'] / 1e3
    extra = (f"One-time costs: the fast path decoded its {info['n_train']:,} train images to "
             f"{tuple(info['decoded_shape'])} uint8 ({info['decoded_mib']:.1f} MiB) in "
             f"{info['decode_s']:.2f} s; "
             f"`load_images` on {info['decode_sample']:,} files: {info['decode_ms_per_img']:.2f} ms/img, "
             f"~{full:.0f} s for all {info['n_full']:,} (once per run). "
             f"fastai DataBlock set-up: {info['fastai_setup_s']:.2f} s. Load average (1, 5, 15 min) at the "
             f"start / end of this case: {info.get('load_average_start', '?')} / "
             f"{info.get('load_average_end', '?')}.")
    bd = res.get('breakdown')
    if bd: extra += '\n\nPieces of one step, timed alone (median ms):\n\n' + md_table(
        [dict(k=k, v=v) for k, v in bd.items()], [('k', 'piece'), ('v', 'ms')], fmt=cell)
    return head, '\n\n'.join([t1, t2, extra])

CPU_NOTES = [
    '**No GPU was available for this session**: every number here comes from a small, shared CPU machine. '
    'The GPU targets of the benchmark issue were therefore NOT measured: fast path >= 0.85 x ceiling and '
    '>= 5 x the fastai default for resnet18 @ 32 px; 93.4 % on CIFAR-10 in <= 2 x airbench96\'s time; the '
    'whole cifar10n-worst pipeline in <= 10 min on an H100. Run '
    '`python bench/pipeline.py --all --device cuda` on a GPU machine for the first; the other two are '
    'end-to-end runs this script does not do.',
    'What the CPU numbers say: on CPU the model\'s forward and backward dominate a step, so the ratios show '
    'whether a pipeline adds overhead on top of a slow model, and what fastai\'s worker processes cost when '
    'they share the few cores with training. What they do not say: anything about the GPU regime, where a '
    'step is orders of magnitude faster and per-item PIL decoding, worker IPC, host-to-device copies and '
    'per-batch Python become the bottleneck. A ratio near 1 on CPU is not evidence for the GPU targets.',
    'Slices, not full epochs: s/epoch is extrapolated from a few timed batches (full train set / img/s); '
    'per-epoch costs such as fastai restarting its workers are not in the CPU numbers (each CPU run is one '
    'epoch, and its first batches are the excluded warm-up).',
]

def summary_table(results) -> str:
    "One row per case: img/s of every pipeline and the two ratios of the issue"
    rows = []
    for r in results:
        st, sm = r['settings'], r['summary']
        row = dict(case=f"{st['case']} (bs {st['bs']}, {st['precision']})", bc=sm['fast_over_ceiling'],
                   ba=sm['fast_over_fastai'])
        row.update({p: v['img_s'] for p, v in sm['rows'].items()})
        rows.append(row)
    return md_table(rows, [('case', 'case'), *[(p, f'{LABELS[p][:4].strip()} img/s') for p in PIPELINES],
                           ('bc', '(b)/(c)'), ('ba', '(b)/(a)')], fmt=cell)

def write(results, stem, notes, info=None):
    dev = results[0]['settings']['device']
    title = f"Training throughput: fastai DataBlock vs noisyfast fast path vs ceiling ({dev})"
    notes = (CPU_NOTES if dev == 'cpu' else []) + notes + [
        '(c) is a plain Python loop (no Learner): model(x) under autocast, loss, backward, fastai Adam step, '
        'zero_grad, on one batch of random tensors already on the device (channels_last, like (b)). (c2) is '
        '`Learner.fit` over the same batch, so (c2)/(c) is what fastai\'s Learner and callbacks cost.',
        '(a) and (b) are `Learner.fit` (constant lr, `learn.no_bar()`, validation cancelled) with the '
        'learner `noisyfast.train.create_learner` builds; every learner is seeded with `set_seed(seed, '
        'reproducible=True)` as `noisyfast.train.fit` does (on GPU: cuDNN deterministic, benchmark off).']
    path = write_results(stem, title, settings={r['settings']['case']: r['settings'] for r in results},
                         sections=[('Summary (img/s, medians)', summary_table(results))] +
                                  [tables(r) for r in results],
                         notes=notes, data={r['settings']['case']: r for r in results}, info=info)
    print(f'wrote {path}')

def run_all(args):
    "Every case in its own process, then one results file"
    info, results = dict(date=now(), machine=machine(), versions=versions()), []
    for case in CASES:
        with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as f: out = f.name
        cmd = [sys.executable, __file__, '--case', case, '--device', args.device,
               '--repeats', str(args.repeats), '--json', out, '--no-write',
               '--pipelines', ','.join(args.pipelines)]
        for k in ('workers', 'threads'):
            if getattr(args, k): cmd += [f'--{k}', str(getattr(args, k))]
        print('$', ' '.join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        results.append(json.loads(Path(out).read_text())); os.unlink(out)
    write(results, f"{'cpu' if args.device == 'cpu' else 'gpu'}-pipeline", args.note, info)

def render(path, extra_notes=()):
    "Write the markdown of a results .json again (new tables or notes), without measuring"
    d = json.loads(Path(path).read_text())
    info = dict(date=d['date'], machine=d['machine'], versions=d['versions'])
    cpu = d['notes'][:len(CPU_NOTES)] == CPU_NOTES
    notes = d['notes'][len(CPU_NOTES) if cpu else 0:-2] + list(extra_notes)
    write(list(d['results'].values()), Path(path).stem, notes, info)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--case', choices=list(CASES))
    p.add_argument('--all', action='store_true', help='every case, each in its own process')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int)
    p.add_argument('--n-train', type=int, help='train images (default: all on GPU, the timed batches on CPU)')
    p.add_argument('--warmup', type=int, help='training batches not timed')
    p.add_argument('--batches', type=int, help='timed batches (the fit stops after warmup + batches)')
    p.add_argument('--epochs', type=int)
    p.add_argument('--repeats', type=int, default=1, help='interleaved repeats of every pipeline')
    p.add_argument('--workers', type=int, help='fastai DataLoader workers (default: os.cpu_count())')
    p.add_argument('--pipelines', default=','.join(PIPELINES), type=lambda s: s.split(','))
    p.add_argument('--max-ceiling-steps', type=int, default=200)
    p.add_argument('--threads', type=int, help="torch threads of the training process (default: torch's)")
    p.add_argument('--decode-sample', type=int, default=2000, help='files decoded to time load_images')
    p.add_argument('--breakdown', action=argparse.BooleanOptionalAction, default=True,
                   help='also time the pieces of a step (augmentation, fwd+bwd, optimizer)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--note', action='append', default=[], help='a line for the results file (repeatable)')
    p.add_argument('--render', metavar='JSON', help='rewrite the .md of a results .json (adding any --note); '
                   'measure nothing')
    p.add_argument('--json', help='also dump the raw results here')
    p.add_argument('--no-write', action='store_true', help='write no results/ files')
    args = p.parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    if args.threads: torch.set_num_threads(args.threads)
    if args.render: return render(args.render, args.note)
    if args.all: return run_all(args)
    if not args.case: p.error('give --case or --all')
    info = dict(date=now(), machine=machine(), versions=versions())
    res = run_case(args)
    head, body = tables(res)
    print(f'\n## {head}\n\n{body}')
    if args.json: Path(args.json).write_text(json.dumps(res, default=str))
    if not args.no_write:
        write([res], f"{'cpu' if args.device == 'cpu' else 'gpu'}-pipeline-{args.case}", args.note, info)

if __name__ == '__main__': main()

"""Wall time to 90 %, 92 % and 93.4 % test accuracy on clean CIFAR-10 (the JPEG copy) with noisyfast's
Learner, optionally side by side with airbench's train94 and train96 in the same process.

One training run of `--epochs` epochs (a fixed schedule: warm-up then decay): after every epoch a callback
evaluates the test set (plain and with flip TTA) and records when each target is first crossed. Decoding the
JPEGs is timed apart and excluded; so are the evaluations of earlier epochs (see README.md).

  python bench/time_to_accuracy.py --device cuda --airbench          # GPU: full data, our model and airbench
  python bench/time_to_accuracy.py --device cpu --model cifar_fastnet --max-train 10000 --max-test 2000 \\
      --epochs 8 --bs 256 --threads 2 --note "..."                   # CPU: a slice
"""
from __future__ import annotations
import argparse, contextlib, importlib, io, json, os, sys, tempfile, time, warnings
from functools import partial
from pathlib import Path
import numpy as np, torch
from fastai.callback.core import Callback, CancelFitException, CancelValidException
from fastai.callback.schedule import ParamScheduler, SchedLin, combine_scheds
import fastai.callback.fp16 # Learner.to_bf16, to_fp16
from fastai.learner import Learner
from fastai.torch_core import set_seed
from noisyfast.data import load_source, load_images
from noisyfast.loaders import make_dls, channel_stats
from noisyfast.losses import get_loss
from noisyfast.models import MODELS, create_model, model_splitter, nesterov_sgd, accuracy_tta
from noisyfast.train import resolve_precision
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, versions, now, load_average, cell, write_results
from noisyfast.report import md_table

TARGETS = (0.90, 0.92, 0.934)
# Per-model defaults (peak lr for the mean loss over a batch; L2 weight decay as in torch's SGD). They follow
# the published ResNet-9 recipes' orders of magnitude and were checked on CPU slices only, not tuned on a GPU.
RECIPES = {
    'cifar_resnet': dict(epochs=16, bs=512, lr=0.4, wd=5e-4, mom=0.9, label_smoothing=0.2, pct_start=0.25),
    'cifar_fastnet': dict(epochs=16, bs=512, lr=0.4, wd=5e-4, mom=0.9, label_smoothing=0.2, pct_start=0.25),
}

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)

def precision_dtype(precision): return dict(bf16=torch.bfloat16, fp16=torch.float16).get(precision)

class TimeToAccuracy(Callback):
    "After each epoch's training: test accuracy (plain and flip TTA), and when each target is first crossed"
    order = -20 # before TrainEvalCallback: the clock starts before the model moves to the device
    def __init__(self, test_dl, device, dtype=None, targets=TARGETS, tta=True, stop_after=None, verbose=True):
        self.test_dl, self.device, self.dtype, self.targets, self.tta = test_dl, device, dtype, targets, tta
        self.stop_after, self.verbose = stop_after, verbose

    def _now(self): sync(self.device); return time.perf_counter()

    def before_fit(self):
        self.rows, self.reached, self.excluded, self.n_batches = [], {}, 0., 0
        self.t0 = self._now()

    def after_batch(self):
        if not self.training: return
        self.n_batches += 1
        if self.stop_after and self.n_batches >= self.stop_after: raise CancelFitException()

    def after_train(self):
        t = self._now() # the epoch's training is done (synchronized)
        acc = accuracy_tta(self.model, self.test_dl, flip=False, dtype=self.dtype)
        t_plain = self._now()
        acc_tta = accuracy_tta(self.model, self.test_dl, flip=True, dtype=self.dtype) if self.tta else None
        t_tta = self._now()
        # time of a run that would stop here: wall since the start, less earlier epochs' evaluations
        train_s = t - self.t0 - self.excluded
        row = dict(epoch=self.epoch + 1, train_s=train_s, acc=acc, acc_tta=acc_tta,
                   s_plain=train_s + t_plain - t, s_tta=train_s + t_tta - t_plain, eval_s=t_tta - t,
                   wall_s=t_tta - self.t0, loss=float(self.recorder.smooth_loss.value))
        for kind, a, s in (('plain', acc, row['s_plain']), ('tta', acc_tta, row['s_tta'])):
            for tg in self.targets:
                if a is not None and a >= tg and (kind, tg) not in self.reached:
                    self.reached[kind, tg] = dict(epoch=row['epoch'], seconds=s, acc=a)
        self.rows.append(row)
        self.excluded += t_tta - t
        if self.verbose:
            tta = f', {acc_tta:.2%} with flip TTA' if acc_tta is not None else ''
            print(f"  epoch {row['epoch']:3d}: {train_s:8.1f} s training, test {acc:.2%}{tta} "
                  f"(train loss {row['loss']:.3f}, eval {row['eval_s']:.1f} s)", flush=True)

    def before_validate(self): raise CancelValidException() # we evaluate the test set ourselves

def linear_schedule(lr, pct_start):
    "Linear warm-up from lr/10 to `lr` over `pct_start` of the steps, then linear decay to 0"
    return ParamScheduler({'lr': combine_scheds([pct_start, 1 - pct_start],
                                                [SchedLin(lr / 10, lr), SchedLin(lr, 0.)])})

def build_learner(st, dls, device, precision, cbs):
    "noisyfast's model in a fastai Learner: Nesterov SGD, label-smoothed cross-entropy, body/head groups"
    model = create_model(st['model'], 3, 10)
    learn = Learner(dls, model, loss_func=get_loss('ce', label_smoothing=st['label_smoothing'], n_classes=10),
                    opt_func=partial(nesterov_sgd, mom=st['mom']), splitter=model_splitter, wd=st['wd'],
                    moms=(st['mom'],) * 3,
                    cbs=cbs, path=tempfile.gettempdir())
    if precision == 'bf16': learn.to_bf16()
    elif precision == 'fp16': learn.to_fp16()
    return learn

def fit(learn, st, epochs=None):
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        if st['schedule'] == 'onecycle':
            learn.fit_one_cycle(epochs or st['epochs'], st['lr'], pct_start=st['pct_start'],
                                moms=(st['mom'],) * 3)
        else: learn.fit(epochs or st['epochs'], st['lr'], cbs=linear_schedule(st['lr'], st['pct_start']))

def load_cifar(args):
    "Decoded uint8 CIFAR-10 (train / test slices), the seconds decoding took, and where it came from"
    if args.cache and Path(args.cache).exists():
        d = np.load(args.cache)
        tx, ty, vx, vy = d['train_x'], d['train_y'], d['test_x'], d['test_y']
        classes, decode_s = [str(c) for c in d['classes']], float(d['decode_s'])
        how = f'load_images over the JPEG copy, earlier; read back from {args.cache}'
    else:
        src = load_source('cifar10', download_ok=False)
        t0 = time.perf_counter()
        tx, _ = load_images(src.train_x, None, 'rgb')
        vx, _ = load_images(src.test_x, None, 'rgb')
        decode_s, how = time.perf_counter() - t0, 'load_images over the JPEG copy'
        ty, vy, classes = np.asarray(src.train_y), np.asarray(src.test_y), list(src.vocab)
        if args.cache:
            np.savez(args.cache, train_x=tx, train_y=ty, test_x=vx, test_y=vy, classes=np.array(classes),
                     decode_s=decode_s)
    rng = np.random.default_rng(args.seed)
    pick = lambda n, m: np.sort(rng.choice(n, m, replace=False)) if m and m < n else np.arange(n)
    i, j = pick(len(ty), args.max_train), pick(len(vy), args.max_test)
    return tx[i], ty[i], vx[j], vy[j], classes, decode_s, how

def settings(args, device) -> dict:
    st = dict(RECIPES[args.model], model=args.model)
    for k in ('epochs', 'bs', 'lr', 'wd', 'mom', 'label_smoothing', 'pct_start'):
        if getattr(args, k) is not None: st[k] = getattr(args, k)
    return dict(st, schedule=args.schedule, augment='crop', random_erasing=args.random_erasing,
                device=str(device), precision=resolve_precision(args.precision, device), tta=args.tta,
                max_train=args.max_train, max_test=args.max_test, seed=args.seed,
                cudnn_benchmark=device.type == 'cuda',
                channels_last=True, torch_threads=torch.get_num_threads(), warmup_batches=args.warmup,
                targets=list(TARGETS))

def run_ours(args, device, tx, ty, vx, vy) -> dict:
    "One timed training run of our model; a short untimed warm-up first on a GPU"
    st = settings(args, device)
    dtype = precision_dtype(st['precision'])
    t0 = time.perf_counter()
    stats = channel_stats(tx.cpu().numpy())
    stats_s = time.perf_counter() - t0
    kw = dict(bs=st['bs'], augment='crop', random_erasing=st['random_erasing'], stats=stats, device=device)
    if device.type == 'cuda': torch.backends.cudnn.benchmark = True
    warm_s = 0.
    if args.warmup:
        t0 = time.perf_counter()
        dls = make_dls(tx, ty, vx, vy, seed=st['seed'] + 1, **kw)
        cb = TimeToAccuracy(dls.valid, device, dtype, tta=st['tta'], stop_after=args.warmup, verbose=False)
        learn = build_learner(st, dls, device, st['precision'], [cb])
        fit(learn, st, 1)
        accuracy_tta(learn.model, dls.valid, dtype=dtype) # the test batch shapes, too
        del learn; sync(device); warm_s = time.perf_counter() - t0
    print(f"{st['model']}: {len(tx):,} train / {len(vx):,} test images, {st['epochs']} epochs, "
          f"bs {st['bs']}, lr {st['lr']}, {st['schedule']}, {st['precision']}, {device}", flush=True)
    set_seed(st['seed']) # not reproducible=True: that would turn cuDNN's benchmark off
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    dls = make_dls(tx, ty, vx, vy, seed=st['seed'], **kw)
    cb = TimeToAccuracy(dls.valid, device, dtype, tta=st['tta'])
    learn = build_learner(st, dls, device, st['precision'], [cb])
    n_params = sum(p.numel() for p in learn.model.parameters())
    fit(learn, st)
    last = cb.rows[-1]
    res = dict(settings=st, rows=cb.rows, reached={f'{k}@{t}': v for (k, t), v in cb.reached.items()},
               n_params=n_params, stats_s=stats_s, warmup_s=warm_s, final_acc=last['acc'],
               final_acc_tta=last['acc_tta'], train_s=last['train_s'], wall_s=last['wall_s'],
               img_s=st['epochs'] * len(dls.train) * st['bs'] / last['train_s'] if last['train_s'] else None)
    if device.type == 'cuda': res['peak_gpu_mib'] = torch.cuda.max_memory_allocated(device) / 2**20
    return res

@contextlib.contextmanager
def working_dir(path):
    old = os.getcwd()
    os.chdir(path)
    try: yield
    finally: os.chdir(old)

def write_airbench_data(folder, tx, ty, vx, vy, classes):
    "airbench's CifarLoader files cifar10/{train,test}.pt: {'images': uint8 N×32×32×3, 'labels', 'classes'}"
    d = Path(folder)/'cifar10'
    d.mkdir(parents=True, exist_ok=True)
    for name, x, y in (('train', tx, ty), ('test', vx, vy)):
        torch.save({'images': torch.as_tensor(np.ascontiguousarray(x), dtype=torch.uint8).cpu(),
                    'labels': torch.as_tensor(np.asarray(y), dtype=torch.int64).cpu(),
                    'classes': list(classes)},
                   d/f'{name}.pt')
    return d

def run_airbench(tx, ty, vx, vy, classes, device) -> dict:
    "airbench's train94 and train96 on the same images, timed (synchronized); their test accuracy afterwards"
    if device.type != 'cuda' or not torch.cuda.is_available():
        return dict(status='airbench not run: needs CUDA')
    try: import airbench
    except ImportError: return dict(status='airbench not run: not installed (pip install airbench==0.1.8)')
    from importlib.metadata import version
    out = dict(status='run', version=version('airbench'), runs={})
    with tempfile.TemporaryDirectory() as tmp, working_dir(tmp):
        write_airbench_data(tmp, tx, ty, vx, vy, classes)
        for level in ('94', '96'):
            lib = importlib.import_module(f'airbench.lib_airbench{level}')
            tta_level = lib.hyp['net']['tta_level']
            log = io.StringIO()
            with contextlib.redirect_stdout(log): getattr(airbench, f'warmup{level}')() # untimed, like theirs
            h = lib.hyp # their train loader, as `train{level}` makes it, made before the clock as ours is
            loader = airbench.CifarLoader('cifar10', train=True, batch_size=h['opt']['batch_size'],
                                          aug=h['aug'], altflip=True)
            sync(device); t0 = time.perf_counter()
            model = getattr(airbench, f'train{level}')(train_loader=loader, verbose=False)
            sync(device); train_s = time.perf_counter() - t0
            test = airbench.CifarLoader('cifar10', train=False, batch_size=2000)
            t0 = time.perf_counter()
            acc_tta = airbench.evaluate(model, test, tta_level=tta_level)
            sync(device); eval_s = time.perf_counter() - t0
            acc = airbench.evaluate(model, test, tta_level=0)
            out['runs'][f'train{level}'] = dict(train_s=train_s, eval_s=eval_s, total_s=train_s + eval_s,
                                                acc=acc, acc_tta=acc_tta, tta_level=tta_level,
                                                epochs=lib.hyp['opt']['train_epochs'])
            print(f'  airbench train{level}: {train_s:.1f} s + {eval_s:.1f} s evaluation, test {acc:.2%}, '
                  f'{acc_tta:.2%} with TTA level {tta_level}', flush=True)
            del model
    return out

def fmt_s(v): return '-' if v is None else f'{v:,.1f}'
def fmt_acc(v): return '-' if v is None else f'{100 * v:.2f} %'

def sections(res) -> list:
    "The markdown sections of a results file"
    ours, info, air = res['ours'], res['info'], res.get('airbench') or {}
    st = ours['settings']
    out = []
    rows = []
    for tg in TARGETS:
        r = dict(t=f'{100 * tg:g} %')
        for kind in ('plain', 'tta'):
            v = ours['reached'].get(f'{kind}@{tg}')
            r[f'{kind}_e'], r[f'{kind}_s'] = (v['epoch'], fmt_s(v['seconds'])) if v else ('not reached', '-')
        rows.append(r)
    head = (f"{st['model']} ({ours['n_params'] / 1e6:.2f} M parameters), {info['n_train']:,} train / "
            f"{info['n_test']:,} test images, {st['epochs']} epochs, bs {st['bs']}, {st['precision']}, "
            f"{st['device']}")
    out.append((f'Time to accuracy: {head}', md_table(rows, [
        ('t', 'target (test accuracy)'), ('plain_e', 'epoch'), ('plain_s', 's'),
        ('tta_e', 'epoch (flip TTA)'), ('tta_s', 's (flip TTA)')], fmt=cell)))
    ep = [dict(e=r['epoch'], tr=fmt_s(r['train_s']), acc=fmt_acc(r['acc']), tta=fmt_acc(r['acc_tta']),
               ev=fmt_s(r['eval_s']), wall=fmt_s(r['wall_s']), loss=f"{r['loss']:.3f}") for r in ours['rows']]
    out.append(('Per epoch', md_table(ep, [
        ('e', 'epoch'), ('tr', 'training s (cumulative)'), ('acc', 'test acc'), ('tta', 'test acc, flip TTA'),
        ('ev', 'eval s'), ('wall', 'wall s (with evals)'), ('loss', 'train loss (smoothed)')], fmt=cell)))
    one = [dict(k='decoding the JPEGs (excluded)', v=f"{info['decode_s']:.1f} s ({info['decode_how']})"),
           dict(k='channel stats (excluded)', v=f"{ours['stats_s']:.2f} s"),
           dict(k='untimed warm-up (GPU)', v=f"{ours['warmup_s']:.1f} s"),
           dict(k='training throughput', v=f"{ours['img_s']:,.0f} img/s" if ours.get('img_s') else '-'),
           dict(k='final test accuracy', v=f"{fmt_acc(ours['final_acc'])}, {fmt_acc(ours['final_acc_tta'])} "
                                           'with flip TTA'),
           dict(k='whole run',
                v=f"{ours['train_s']:.1f} s training, {ours['wall_s']:.1f} s with every evaluation")]
    if 'peak_gpu_mib' in ours: one.append(dict(k='peak GPU memory', v=f"{ours['peak_gpu_mib']:,.0f} MiB"))
    one.append(dict(k='load average (1, 5, 15 min) at start / end',
                    v=f"{info.get('load_average_start', '?')} / {info.get('load_average_end', '?')}"))
    out.append(('Costs', md_table(one, [('k', 'what'), ('v', 'value')], fmt=cell)))
    if air.get('status') == 'run':
        rows = [dict(n=f"airbench {n}", s=fmt_s(r['total_s']), tr=fmt_s(r['train_s']), acc=fmt_acc(r['acc']),
                     tta=f"{fmt_acc(r['acc_tta'])} (level {r['tta_level']})", e=r['epochs'])
                for n, r in air['runs'].items()]
        best = ours['reached'].get(f"{'tta' if st['tta'] else 'plain'}@0.934")
        a96 = air['runs'].get('train96')
        if best and a96:
            ratio = best['seconds'] / a96['total_s']
            rows.append(dict(n='ours to 93.4 % / airbench train96', s=f'{ratio:.2f} x'))
        out.append(('airbench, same images, same process', md_table(rows, [
            ('n', 'run'), ('s', 's (training + final TTA evaluation)'), ('tr', 'training s'), ('e', 'epochs'),
            ('acc', 'test acc'), ('tta', 'test acc with its TTA')], fmt=cell)))
    else: out.append(('airbench', air.get('status', 'airbench not asked for (--airbench)')))
    return out

def notes(res) -> list:
    info, st = res['info'], res['ours']['settings']
    n = []
    if info['n_train'] < 50_000 or info['n_test'] < 10_000:
        n.append(f"A slice: {info['n_train']:,} of the 50,000 train images and {info['n_test']:,} of the "
                 '10,000 test images; accuracies are not comparable with full-data targets.')
    n.append("Times exclude decoding the JPEGs. A target's time is the wall time from the start of the fit "
             'to the end of the evaluation that first saw it crossed, less the earlier epochs\' evaluations.')
    n.append(f"One run with a fixed {st['epochs']}-epoch schedule: a target crossed at epoch k is not the "
             'time of a k-epoch run (its schedule would end sooner).')
    return n + res.get('user_notes', [])

def render(path, extra_notes=()):
    obj = json.loads(Path(path).read_text())
    res = obj['results']
    res['user_notes'] = list(res.get('user_notes', [])) + list(extra_notes)
    info = dict(date=obj['date'], machine=obj['machine'], versions=obj['versions'])
    f = write_results(Path(path).stem, obj['title'], settings=obj['settings'], sections=sections(res),
                      notes=notes(res), data=res, info=info)
    print(f)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--model', default='cifar_resnet', choices=list(MODELS))
    p.add_argument('--epochs', type=int)
    p.add_argument('--bs', type=int)
    p.add_argument('--lr', type=float, help='peak learning rate')
    p.add_argument('--wd', type=float, help="L2 weight decay (torch SGD's)")
    p.add_argument('--mom', type=float, help='Nesterov momentum')
    p.add_argument('--label-smoothing', type=float)
    p.add_argument('--pct-start', type=float, help='warm-up fraction of the schedule')
    p.add_argument('--schedule', default='linear', choices=('linear', 'onecycle'),
                   help="linear warm-up then linear decay to 0 (ParamScheduler), or fastai's fit_one_cycle")
    p.add_argument('--random-erasing', type=float, default=0., help='probability of erasing a rectangle')
    p.add_argument('--precision', default='auto', choices=('auto', 'bf16', 'fp16', 'fp32'))
    p.add_argument('--tta', action=argparse.BooleanOptionalAction, default=True,
                   help='also evaluate with flip TTA')
    p.add_argument('--max-train', type=int, help='a seeded random slice of the train set (for CPU)')
    p.add_argument('--max-test', type=int, help='a seeded random slice of the test set (for CPU)')
    p.add_argument('--threads', type=int, help="torch threads (default: torch's)")
    p.add_argument('--warmup', type=int,
                   help='untimed warm-up batches before the run (default: 20 on GPU, 0 on CPU)')
    p.add_argument('--airbench', action='store_true',
                   help="also time airbench's train94 and train96 (CUDA only)")
    p.add_argument('--cache',
                   help='an .npz of the decoded images: read if present, else written after decoding')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='results file stem (default: <cpu|gpu>-time-to-accuracy)')
    p.add_argument('--note', action='append', default=[], help='a line for the results file (repeatable)')
    p.add_argument('--render', metavar='JSON', help='rewrite the .md of a results .json (adding any --note)')
    p.add_argument('--no-write', action='store_true', help='write no results/ files')
    args = p.parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    if args.threads: torch.set_num_threads(args.threads)
    if args.render: return render(args.render, args.note)
    device = torch.device(args.device)
    if args.warmup is None: args.warmup = 20 if device.type == 'cuda' else 0
    info = dict(date=now(), machine=machine(), versions=versions())
    load_start = load_average()
    tx, ty, vx, vy, classes, decode_s, how = load_cifar(args)
    print(f'data: {len(tx):,} train / {len(vx):,} test images ({how}, decoding {decode_s:.1f} s)', flush=True)
    gx, gvx = torch.from_numpy(tx).to(device), torch.from_numpy(vx).to(device) # images live on the device
    ours = run_ours(args, device, gx, ty, gvx, vy)
    air = run_airbench(tx, ty, vx, vy, classes, device) if args.airbench else None
    res = dict(ours=ours, airbench=air, user_notes=args.note,
               info=dict(n_train=len(tx), n_test=len(vx), decode_s=decode_s, decode_how=how,
                         load_average_start=load_start, load_average_end=load_average()))
    secs = sections(res)
    for head, body in secs: print(f'\n## {head}\n\n{body}')
    if not args.no_write:
        stem = args.out or f"{'gpu' if device.type == 'cuda' else 'cpu'}-time-to-accuracy"
        f = write_results(stem, 'Time to accuracy on CIFAR-10',
                          settings=dict(ours['settings'], airbench=args.airbench), sections=secs,
                          notes=notes(res), data=res, info=info)
        print(f'\nwrote {f}')

if __name__ == '__main__': main()

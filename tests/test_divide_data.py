"""`noisyfast run` with the divide stage on user data sets (a `folder` of class folders, a `csv` of paths
and labels; real CIFAR-10 test images written as PNG and JPEG) and on a grayscale built-in (Fashion-MNIST,
28 px, one channel replicated for the net). The digits built-in, also grayscale, is covered by
tests/test_resume.py and the pipeline notebook. Tiny runs: ~200 images, `cpu_net`, 1 epoch, 2-fold cleaning
of 1 epoch, 1 divide epoch."""
from pathlib import Path
import pytest, torch, yaml
from fastai.callback.core import Callback
from noisyfast.config import load_config
from noisyfast.pipeline import run
from noisyfast.runs import RunFolder
from reliability_helpers import main_inproc, make_csv, make_folder, tree_hashes

def divide_run(tmp_path, data:dict, size=None):
    stage = dict(epochs=1, freeze_epochs=0, lr=0.01, **({'size': size} if size else {}))
    cfg = dict(name='dv', output_dir=str(tmp_path/'runs'), data=data, seed=1,
               noise=dict(kind='symmetric', rate=0.3), model=dict(arch='cpu_net'),
               train=dict(stages=[stage], bs=32), clean=dict(enabled=True, folds=2, epochs=1),
               divide=dict(enabled=True, epochs=1, warmup=0), final=dict(enabled=False),
               evaluate=dict(robustness=False))
    f = tmp_path/'dv.yaml'
    f.write_text(yaml.safe_dump(cfg))
    rc, out, err, _ = main_inproc('run', f)
    assert rc == 0, out[-3000:] + err[-3000:]
    return RunFolder(tmp_path/'runs'/'dv')

def check_divide(rf, n_classes):
    "The divide stage ran, was evaluated, split every train image into one set, and is in the report"
    assert rf.read('state')['done'] == ['data', 'train', 'clean', 'divide'], rf.read('state')
    m, info = rf.read('metrics')['divide'], rf.read('data')['data']
    s = m['selection']
    assert s['kept'] + s['relabeled'] + s['unlabeled'] == info['train'] == m['train_size'], (s, info, m)
    assert 'kept_precision' in s # the injected noise: true labels known
    assert rf.read('test_probs', 'divide').shape == (info['test'], n_classes)
    sel, stats = rf.read('selection', 'divide'), rf.read('selection_stats', 'divide')
    assert len(sel) == info['train'] and list(stats.epoch) == [0] and int(stats.kept[0]) == s['kept']
    assert sel.kept.sum() == s['kept'] and (sel.label[~(sel.kept | sel.relabeled)] == -1).all()
    rep = rf.read('report')
    assert '## Divide and learn' in rep and (rf.file('plots')/'selection.png').exists()

@pytest.mark.parametrize('kind', ['folder', 'csv'])
def test_divide_on_a_user_data_set(tmp_path, kind):
    root = tmp_path/'mydata'
    path = (make_folder if kind == 'folder' else make_csv)(root, n_classes=4, per_class=50)
    before = tree_hashes(root)
    rf = divide_run(tmp_path, dict(name=kind, path=str(path)), size=32)
    check_divide(rf, 4)
    assert tree_hashes(root) == before # the user's images and CSV are untouched

def test_divide_on_a_grayscale_built_in(tmp_path, archive):
    rf = divide_run(tmp_path, dict(name='fashion_mnist', max_train=200, max_test=100))
    check_divide(rf, 10)
    info = rf.read('data')['data']
    assert (info['train'] + info['valid'], info['test']) == (200, 100), info # max_train: train + valid

class StartWeights(Callback):
    "Each fit's weights when it starts, by the name of its folder (the first fit call of each)"
    seen = {}
    def before_fit(self):
        self.seen.setdefault(Path(self.learn.path).name,
                             {k: v.detach().clone() for k, v in self.model.state_dict().items()})

def test_divide_init_train_starts_from_the_baseline(tmp_path):
    "divide.init: train: the divide model's first step starts from the train stage's checkpoint"
    stage = dict(size=8, epochs=1, freeze_epochs=0, lr=0.01)
    cfg = load_config(None, name='dv', output_dir=str(tmp_path), data=dict(name='digits', max_train=300),
                      noise=dict(kind='symmetric', rate=0.3), model=dict(arch='cpu_net'), track='none',
                      train=dict(stages=[stage], bs=32), clean=dict(enabled=True, folds=2, epochs=1),
                      divide=dict(enabled=True, epochs=1, warmup=0, init='train'), final=dict(enabled=False),
                      evaluate=dict(robustness=False))
    StartWeights.seen = {}
    run(cfg, progress=False, echo=lambda *a: None, callbacks=[StartWeights])
    rf = RunFolder(tmp_path/'dv')
    saved = torch.load(rf.weights('train'), map_location='cpu', weights_only=True)['model']
    sd, base = StartWeights.seen['divide'], StartWeights.seen['train']
    assert sorted(sd) == sorted(saved) and all(torch.equal(sd[k].cpu(), saved[k]) for k in saved)
    assert not all(torch.equal(base[k].cpu(), saved[k]) for k in saved) # (the baseline did train)

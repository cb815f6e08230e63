"""fastai's Learner tools on noisyfast's fast loader (`make_dls`), as a fastai user calls them: `show_batch`,
`ClassificationInterpretation`, `show_results`, `learn.predict(<image file>)`, `export` → `load_learner` →
predict, `lr_find`, and the distributed wrapper, on digits (built in, in memory) and a folder of real images
(PNG/JPEG). Expected values are computed independently: from the labels, `get_preds` on the validation loader,
the pixels."""
import os
from collections import Counter
from pathlib import Path
import numpy as np, pytest, torch
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from PIL import Image
from fastai.interpret import ClassificationInterpretation
from fastai.learner import Learner, load_learner
from fastai.metrics import accuracy
from noisyfast.config import ModelConfig, TrainConfig
from noisyfast.data import load_digits_source, load_folder_source, split_data
from noisyfast.loaders import ArrayData, ArrayDL, make_dls
import timm
from noisyfast.train import create_learner
from reliability_helpers import make_folder

def _titles(n): return [ax.get_title() for ax in plt.gcf().axes[:n]]

def _digits_learner(tmp, **kw):
    "make_dls on digits + the project's create_learner without n_in (grayscale: inferred), one short fit"
    d = split_data(load_digits_source(), seed=0)
    ad = ArrayData()
    tx, vx = ad.images(d.train), ad.images(d.valid)
    dls = make_dls(tx, d.train.y, vx, d.valid.y, bs=64, vocab=d.vocab, seed=0, **kw)
    learn, _ = create_learner(dls, dls.c, ModelConfig(arch='test_resnet'), TrainConfig(), path=tmp)
    learn.fit_one_cycle(1, 1e-2)
    return learn, vx, np.asarray(d.valid.y), list(d.vocab)

def _folder_learner(tmp):
    "A folder of real images, make_dls, fastai's plain `Learner` (its loss from the data), one short fit"
    d = split_data(load_folder_source(make_folder(tmp/'imgs', n_classes=3, per_class=20)), valid_pct=0.25,
                   test_pct=0.1, seed=0)
    ad = ArrayData()
    tx, vx = ad.images(d.train), ad.images(d.valid)
    dls = make_dls(tx, d.train.y, vx, d.valid.y, bs=16, vocab=d.vocab, seed=0)
    learn = Learner(dls, timm.create_model('test_resnet', num_classes=dls.c), metrics=accuracy, path=tmp)
    learn.fit(1, 1e-2)
    return learn, vx, np.asarray(d.valid.y), list(d.vocab), d

def _check_tools(learn, vx, vy, vocab, image_file, pos, tmp):
    "Every tool of the issue on `learn`; `image_file` holds the pixels of valid item `pos`"
    learn.remove_cbs([c for c in learn.cbs if type(c).__name__ == 'ProgressCallback'])
    dls = learn.dls
    assert list(dls.vocab) == vocab and dls.c == len(vocab) and dls.n_inp == 1
    assert isinstance(dls.train, ArrayDL) and dls.train.dataset.x.dtype == torch.uint8 # the fast path
    probs, targs = learn.get_preds(dl=dls.valid)
    assert torch.equal(targs, torch.as_tensor(vy))
    pred = probs.argmax(1)
    # show_batch: valid items in order, titled with their class names, pixels un-normalized back to the images
    plt.close('all')
    dls.valid.show_batch(max_n=4)
    assert _titles(4) == [vocab[y] for y in vy[:4]]
    shown = np.asarray(plt.gcf().axes[0].images[0].get_array(), dtype=np.float32).squeeze()
    np.testing.assert_allclose(shown, vx[0].numpy().squeeze() / 255, atol=1e-4)
    plt.close('all')
    dls.show_batch(max_n=4) # the train loader (augmented, shuffled)
    assert len(_titles(4)) == 4 and set(_titles(4)) <= set(vocab)
    # ClassificationInterpretation: most_confused = the off-diagonal counts of the valid predictions
    interp = ClassificationInterpretation.from_learner(learn)
    got = {(a, p): int(n) for a, p, n in interp.most_confused()}
    want = Counter((vocab[t], vocab[p]) for t, p in zip(vy, pred.tolist()) if t != p)
    assert got == dict(want) and len(interp.losses) == len(vy)
    # show_results: target then prediction, first items of the valid split
    plt.close('all')
    learn.show_results(max_n=4, shuffle=False)
    assert _titles(4) == [f'{vocab[t]}\n{vocab[p]}' for t, p in zip(vy[:4], pred[:4].tolist())]
    plt.close('all')
    # predict on an image file: loaded, resized and normalized as the loader does it
    label, idx, p = learn.predict(image_file)
    assert label == vocab[int(idx)] and int(idx) == int(p.argmax())
    torch.testing.assert_close(p, probs[pos], atol=1e-5, rtol=0)
    # export without the images, load, predict the same
    learn.export('export.pkl')
    loaded = load_learner(tmp/'export.pkl')
    assert loaded.dls.train.n == 0 and loaded.dls.train.x.untyped_storage().nbytes() == 0 # no image pickled
    l2, i2, p2 = loaded.predict(image_file)
    assert (l2, int(i2)) == (label, int(idx))
    torch.testing.assert_close(p2, p, atol=1e-5, rtol=0)
    # lr_find runs on the loader and leaves the weights as they were
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    sug = learn.lr_find(num_it=6, show_plot=False)
    assert np.isfinite(sug.valley) and len(learn.recorder.lrs) >= 2
    assert all(torch.equal(v, learn.model.state_dict()[k]) for k, v in before.items())

def test_digits_tools(tmp_path):
    learn, vx, vy, vocab = _digits_learner(tmp_path)
    assert next(learn.model.parameters()).shape[1] == 1 # create_learner took n_in = 1 from the batches
    pos = 3
    f = tmp_path/'digit.png'
    Image.fromarray(vx[pos].numpy()[..., 0]).save(f) # lossless: the same pixels as valid item `pos`
    _check_tools(learn, vx, vy, vocab, f, pos, tmp_path)

def test_folder_tools(tmp_path):
    learn, vx, vy, vocab, d = _folder_learner(tmp_path)
    pos = 2
    _check_tools(learn, vx, vy, vocab, d.valid.x[pos], pos, tmp_path) # the valid item's own file

def test_n_in_replicated(tmp_path):
    "grey images replicated to 3 channels by the loader: create_learner builds a 3-channel model"
    d = split_data(load_digits_source(), seed=0)
    ad = ArrayData()
    dls = make_dls(ad.images(d.train), d.train.y, ad.images(d.valid), d.valid.y, size=16, n_channels=3)
    learn, _ = create_learner(dls, dls.c, ModelConfig(arch='test_resnet'), TrainConfig(), path=tmp_path)
    assert next(learn.model.parameters()).shape[1] == 3
    assert learn.model(dls.one_batch()[0]).shape == (64, 10)

def _distributed_dl():
    """fastai's `DistributedDL`. `fastai.distributed` does not import without `accelerate` (its trainer needs
    it); then the class is taken from fastai's own source, the part of the module before
    `DistributedTrainer`"""
    try: from fastai.distributed import DistributedDL
    except (ImportError, NameError):
        import importlib.util
        code = Path(importlib.util.find_spec('fastai.distributed').origin).read_text()
        ns = dict(__name__='fastai.distributed', __package__='fastai')
        exec(code[:code.index('\nclass DistributedTrainer')], ns)
        DistributedDL = ns['DistributedDL']
    class NoComm(DistributedDL):
        "Without a process group: every rank computed the same order, nothing to broadcast"
        def _broadcast(self, t, rank): return list(t)
    return NoComm

def test_distributed_wrapper():
    "fastai's DistributedDL over the fast loader: the ranks share one epoch, each item once (+ padding)"
    d = split_data(load_digits_source(), seed=0)
    ad = ArrayData()
    tx, vx = ad.images(d.train), ad.images(d.valid)
    dls = make_dls(tx, d.train.y, vx, d.valid.y, bs=64, with_idx=True)
    n = len(d.train)
    dl = dls.train.new(drop_last=False)
    seen = []
    for r in (0, 1):
        # each process builds its loader with the same seed
        ddl = _distributed_dl()(dl.new(), rank=r, world_size=2)
        bs = list(ddl)
        assert len(bs) == len(ddl) and all(b[0].shape[1:] == (1, 8, 8) for b in bs)
        pos = torch.cat([b[2] for b in bs])
        assert torch.equal(torch.cat([b[1] for b in bs]), torch.as_tensor(d.train.y)[pos]) # labels follow
        seen.append(pos.tolist())
    assert len(seen[0]) == len(seen[1]) == (n + 1) // 2
    assert set(seen[0]) | set(seen[1]) == set(range(n))
    assert len(set(seen[0]) & set(seen[1])) == (n % 2) # only the padding repeats an item

def test_robustness_of_a_fastai_pipeline_model_scores_the_test_images_as_the_run_did(tmp_path):
    "Wide files (16×24 and 16×40, the digit in the centre square) on fastai's pipeline: the robustness stage "
    "perturbs each file as fastai cut it, so its unperturbed accuracy is the run's test accuracy (cut from "
    "the run's decoded arrays, all stretched to one shape, a 16×40 file's centre was a squeezed 16×24 one)"
    import json
    from noisyfast.data import load_digits_source
    from reliability_helpers import main_inproc, run_config
    src = load_digits_source()
    for i, (x, y) in enumerate(zip(src.train_x[:600], src.train_y[:600])):
        d = tmp_path/'wide'/str(y); d.mkdir(parents=True, exist_ok=True)
        w = 24 if i % 3 else 40 # two shapes: the decoded arrays stretch the 40-wide ones to 24
        can = np.zeros((16, w), np.uint8)
        can[:, w // 2 - 8:w // 2 + 8] = np.asarray(Image.fromarray(x[..., 0]).resize((16, 16)))
        Image.fromarray(np.stack([can] * 3, -1)).save(d/f'{i:04d}.png')
    cfg = run_config(tmp_path, data=dict(name='folder', path=str(tmp_path/'wide'), loader='fastai'),
                     model=dict(arch='cpu_net'), train=dict(stages=[dict(size=16, epochs=3, lr=0.01)], bs=32,
                                                            augment='none'),
                     evaluate=dict(robustness=True, kinds=['blur'], severities=[1]))
    rc, out, err, _ = main_inproc('run', cfg, '--no-report', '--quiet')
    assert rc == 0, err[-3000:]
    m = json.loads((tmp_path/'out'/'r'/'metrics.json').read_text())
    assert m['train']['test_accuracy'] > 0.5, m['train'] # learned: the comparison below means something
    assert m['robustness']['clean_accuracy'] == m['train']['test_accuracy'], (m['robustness'], m['train'])

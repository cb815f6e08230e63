"""Hardening: a run that dies at its start leaves no run folder; the image size of a folder of many sizes is
chosen from all of them, not from the first; the summary says whose test labels it scores; an interrupted
`config check` does not talk about stages."""
import json
from pathlib import Path
import numpy as np, pytest, yaml
from PIL import Image
from reliability_helpers import main_inproc, make_folder, no_run_folder, run_config

# ---------------------------------------------------------------- no half-made run folder

from noisyfast.runs import RunFolder

def _patch_fit(monkeypatch, f):
    ("Replace `fit` wherever a stage calls it (the train stage in noisyfast.train, the final stage in the "
     "pipeline)")
    import noisyfast.pipeline, noisyfast.train
    for m in (noisyfast.pipeline, noisyfast.train): monkeypatch.setattr(m, 'fit', f)

def _boom(*args, **kwargs): raise RuntimeError('boom: the first stage crashed')

def test_crash_at_start_removes_the_run_folder_it_made(tmp_path, monkeypatch):
    import noisyfast.pipeline as pl
    from noisyfast.config import load_config
    _patch_fit(monkeypatch, _boom)
    cfg = load_config(run_config(tmp_path))
    with pytest.raises(RuntimeError, match='boom'): pl.run(cfg, echo=lambda *a: None)
    assert no_run_folder(tmp_path), list((tmp_path/'out').rglob('*'))

def test_crash_at_start_keeps_a_folder_that_was_there(tmp_path, monkeypatch):
    "An (empty) folder the user made is theirs: the crash leaves it, with what the run wrote"
    import noisyfast.pipeline as pl
    from noisyfast.config import load_config
    _patch_fit(monkeypatch, _boom)
    cfg = load_config(run_config(tmp_path))
    (tmp_path/'out'/'r').mkdir(parents=True)
    with pytest.raises(RuntimeError): pl.run(cfg, echo=lambda *a: None)
    assert RunFolder(tmp_path/'out'/'r').has('config')

def test_crash_after_a_finished_stage_keeps_the_folder(tmp_path, monkeypatch):
    "A finished stage is resumable work: a crash in the next stage leaves the folder for --resume"
    import noisyfast.pipeline as pl
    from noisyfast.config import load_config
    real, calls = pl.fit, []
    def fit_then_crash(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1: _boom()
        return real(*args, **kwargs)
    _patch_fit(monkeypatch, fit_then_crash)
    cfg = load_config(run_config(tmp_path, data=dict(max_train=100), final=dict(enabled=True),
                                 evaluate=dict(robustness=False)))
    with pytest.raises(RuntimeError): pl.run(cfg, echo=lambda *a: None)
    state = RunFolder(tmp_path/'out'/'r').read('state')
    assert state['done'] == ['data', 'train'], state

def test_interrupt_at_start_keeps_the_folder(tmp_path, monkeypatch):
    "Ctrl-C is not a crash: the message says finished stages are kept, so the folder is kept"
    import noisyfast.pipeline as pl
    def interrupt(*args, **kwargs): raise KeyboardInterrupt
    _patch_fit(monkeypatch, interrupt)
    rc, out, err, sec = main_inproc('run', run_config(tmp_path))
    assert rc == 130 and 'finished stages are kept' in err, err
    assert RunFolder(tmp_path/'out'/'r').has('state')

# ---------------------------------------------------------------- SIGTERM outside a run

def test_interrupted_config_check_does_not_mention_stages(tmp_path, monkeypatch):
    import noisyfast.cli as cli
    with pytest.raises(KeyboardInterrupt): cli._sigterm(15, None) # SIGTERM is turned into this
    def interrupt(*args, **kwargs): raise KeyboardInterrupt
    monkeypatch.setattr(cli, 'load_config', interrupt)
    f = run_config(tmp_path)
    rc, out, err, sec = main_inproc('config', 'check', f)
    assert rc == 130 and 'noisyfast: interrupted' in err, err
    assert 'stages' not in err and '--resume' not in err, err
    rc, out, err, sec = main_inproc('run', f)
    assert rc == 130 and 'finished stages are kept: continue with --resume' in err, err

# ---------------------------------------------------------------- image size of a folder of many sizes

def tiny_first(root:Path) -> Path:
    "A folder of 3×20 real 32×32 images whose first image (in file order) is 1×1"
    make_folder(root)
    first = sorted(p for p in root.iterdir() if p.is_dir())[0]
    Image.fromarray(np.full((1, 1, 3), 128, np.uint8)).save(first/'00.png') # sorts before 000.png
    return first/'00.png'

def test_one_tiny_first_image_does_not_set_the_size(tmp_path):
    from noisyfast.data import load_images, load_source, verify_images
    tiny = tiny_first(tmp_path/'pets')
    src = load_source('folder', tmp_path/'pets')
    assert Path(src.train_x[0]) == tiny # the 1×1 image really comes first
    a, bad = load_images(src.train_x)
    assert a.shape == (61, 32, 32, 3), a.shape # was (61, 1, 1, 3): every image decoded at 1×1
    chk = verify_images(src).check
    assert chk.median_hw == (32, 32) and [(Path(p), hw) for p, hw in chk.small] == [(tiny, (1, 1))]
    notes = '\n'.join(verify_images(src).notes)
    assert 'image size: 2 sizes, heights 1 to 32, widths 1 to 32 px' in notes, notes
    assert 'at 32x32, the median' in notes, notes
    assert f'image size WARNING: 1 image is less than a quarter of the median 32x32' in notes, notes
    assert f'{tiny} (1x1)' in notes, notes

def test_fastai_loader_trains_at_the_median_size_too(tmp_path):
    "fastai's DataBlock path (data.loader: fastai) also takes the median size, not the 1×1 first image's"
    from noisyfast.config import load_config
    from noisyfast.noise import make_data
    from noisyfast.train import fit
    import dataclasses
    tiny = tiny_first(tmp_path/'pets')
    f = run_config(tmp_path, data=dict(name='folder', path=str(tmp_path/'pets'), loader='fastai'),
                   train=dict(stages=[dict(epochs=1)]))
    for seed in range(50): # the split shuffles: a seed whose train split holds the 1×1 image
        cfg = load_config(f, [f'seed={seed}'])
        data, _ = make_data(cfg)
        if str(tiny) in map(str, data.train.x): break
    pos = [str(p) for p in data.train.x].index(str(tiny)) # and put it first again
    data = dataclasses.replace(data, train=data.train.subset([pos] + [i for i in range(len(data.train))
                                                                      if i != pos]))
    res = fit(cfg, data, folder=tmp_path/'fit', progress=False)
    assert res.size == 32 and res.learn.dls.one_batch()[0].shape[-2:] == (32, 32), res.size

@pytest.mark.parametrize('noise', [dict(), dict(kind='symmetric', rate=0.2)], ids=['no-noise', 'injected'])
def test_run_prints_the_chosen_size_and_whose_test_labels(tmp_path, noise):
    ("The terminal says which size was chosen and why, warns about the tiny image, and does not call the "
     "user's own test labels clean, noise injected into the train labels or not")
    tiny = tiny_first(tmp_path/'pets')
    f = run_config(tmp_path, data=dict(name='folder', path=str(tmp_path/'pets')), noise=noise,
                   train=dict(stages=[dict(epochs=1)]), evaluate=dict(robustness=False))
    rc, out, err, sec = main_inproc('run', f)
    assert rc == 0, err
    assert 'at 32x32, the median of the sizes' in out and f'{tiny} (1x1)' in out, out
    assert 'summary (test accuracy on the given test labels, not known to be clean;' in out, out
    assert 'clean test labels' not in out, out

def test_resume_of_a_run_not_there_says_it_starts_it(tmp_path):
    "`--resume` with a name no run has (a typo) trains a new run: said before the data, not silently"
    f = run_config(tmp_path, name='typo', train=dict(stages=[dict(epochs=1)]), evaluate=dict(robustness=False))
    rc, out, err, sec = main_inproc('run', f, '--resume', '--no-report')
    assert rc == 0, err
    assert f"{tmp_path/'out'/'typo'}: no such run yet: starting it" in out.splitlines()[0], out[:500]
    rc, out, err, sec = main_inproc('run', f, '--resume', '--no-report') # a real resume: not said
    assert rc == 0 and 'no such run yet' not in out, out[:500]

def test_results_markdown_names_whose_test_labels():
    import pandas as pd
    from noisyfast.sweep import results_markdown
    res = pd.DataFrame({'noise.rate': [0.2], 'test_acc': [0.5]})
    assert '(clean test labels)' in results_markdown(res, ['noise.rate'])
    md = results_markdown(res, ['noise.rate'], clean_test=False)
    assert '(the given test labels, not known to be clean)' in md and 'clean test labels)' not in md

# ---------------------------------------------------------------- pseudo-labeling rounds survive an interrupt

def test_interrupted_pseudo_stage_resumes_after_its_finished_rounds(tmp_path, monkeypatch):
    ("Ctrl-C in pseudo round 2 of 2: --resume keeps round 1 (its files untouched, not trained again) and "
     "trains round 2 alone")
    import noisyfast.pseudo as ps
    f = run_config(tmp_path, data=dict(max_train=300, n_labeled=100), pseudo=dict(rounds=2),
                   evaluate=dict(robustness=False))
    real, seen = ps.fit, []
    def interrupt_round_2(*args, **kwargs):
        seen.append(kwargs['folder'].name)
        if kwargs['folder'].name == 'round2' and seen.count('round2') == 1: raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(ps, 'fit', interrupt_round_2)
    rc, out, err, sec = main_inproc('run', f)
    assert rc == 130, err
    r1 = tmp_path/'out'/'r'/'pseudo'/'round1'
    before = {p: p.stat().st_mtime_ns for p in r1.rglob('*')}
    assert (r1/'done.json').exists() and before
    rc, out, err, sec = main_inproc('run', f, '--resume')
    assert rc == 0, err
    assert seen == ['round1', 'round2', 'round2'], seen # round 1 once, round 2 again
    assert {p: p.stat().st_mtime_ns for p in r1.rglob('*')} == before
    assert 'rounds 1-1 of 2 finished before: kept, not trained again' in out, out
    m = RunFolder(tmp_path/'out'/'r').read('metrics')['pseudo']
    assert [r['round'] for r in m['rounds']] == [1, 2]

def test_resume_takes_new_settings_of_a_stage_not_started(tmp_path, monkeypatch):
    ("Ctrl-C in the clean stage, then --resume with final.enabled: true: taken (the final stage had not "
     "started), said, and saved in config.yaml; the baseline is not trained again")
    import noisyfast.clean as cl, noisyfast.pipeline as pl
    from noisyfast.config import load_config
    f = run_config(tmp_path, data=dict(max_train=200), clean=dict(enabled=True, folds=2),
                   evaluate=dict(robustness=False))
    real, calls = cl.fit, []
    def interrupt_clean(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1: raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(cl, 'fit', interrupt_clean)
    rc, out, err, sec = main_inproc('run', f)
    assert rc == 130, err
    rf = RunFolder(tmp_path/'out'/'r')
    assert rf.read('state')['done'] == ['data', 'train']
    w = rf.weights('train'); before = w.stat().st_mtime_ns
    rc, out, err, sec = main_inproc('run', f, '--resume', 'final.enabled=true')
    assert rc == 0, err
    assert 'resumed with new settings of stages not started yet: final.enabled (saved in config.yaml)' in out
    assert rf.read('state')['done'][-2:] == ['clean', 'final'] and w.stat().st_mtime_ns == before
    assert load_config(rf.file('config')).final.enabled
    rc, out, err, sec = main_inproc('run', f, '--resume', 'final.enabled=true', 'train.bs=16') # a done stage's
    assert rc == 2 and 'differs in: train.bs); resume with the same config' in err, err

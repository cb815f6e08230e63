"""Nothing lost: a run reads the user's images and CSV and never writes, moves or deletes any of them; a
finished run folder is never overwritten without --resume or --overwrite.

A `folder` and a `csv` data set (3 classes × 20 real CIFAR-10 test images as PNG and JPEG, or scikit-learn
digits without an archive folder) are hashed before and after a tiny run: test_resnet, 16 px, 1 epoch, 2-fold
cleaning and a final stage, through `noisyfast.cli.main` (what the console script calls)."""
import json
from pathlib import Path
import pytest, yaml
from noisyfast.runs import RunFolder
from reliability_helpers import (assert_user_error, main_inproc, make_csv, make_folder, real_images,
                                 tree_hashes)

def tiny_run(tmp_path, data, name):
    cfg = dict(name=name, output_dir=str(tmp_path/'runs'), data=data, seed=1,
               noise=dict(kind='symmetric', rate=0.2), model=dict(arch='test_resnet'),
               train=dict(stages=[dict(size=16, epochs=1, lr=1e-2)], bs=16),
               clean=dict(enabled=True, folds=2), final=dict(enabled=True))
    f = tmp_path/f'{name}.yaml'
    f.write_text(yaml.safe_dump(cfg))
    return f

@pytest.mark.parametrize('kind', ['folder', 'csv'])
def test_run_leaves_the_data_untouched(tmp_path, kind):
    src_name = real_images()[3]
    root = tmp_path/'mydata'
    path = make_folder(root) if kind == 'folder' else make_csv(root)
    before = tree_hashes(root)
    assert len([k for k, v in before.items() if v]) == 60 + (kind == 'csv'), 'the data set was not made'
    f = tiny_run(tmp_path, dict(name=kind, path=str(path)), f'{kind}-run')
    rc, out, err, sec = main_inproc('run', f)
    assert rc == 0, err
    assert tree_hashes(root) == before, f'the {kind} data set ({src_name} images) was changed by the run'
    run = tmp_path/'runs'/f'{kind}-run'
    rf = RunFolder(run)
    state = rf.read('state')
    assert state['done'] == ['data', 'train', 'clean', 'final', 'robustness'], state
    issues = rf.file('all_labels', 'clean').read_text()
    assert str(root) in issues, 'the label table points back at the files'
    info = rf.read('data')['data']
    assert info['train'] + info['valid'] + info['test'] == 60, info

    # a second run into the same folder is refused, and the finished run is left as it was
    done = tree_hashes(run)
    rc, out, err, _ = main_inproc('run', f)
    assert_user_error(rc, err, f'{run} already exists: use --resume to continue that run, --overwrite to '
                               'start it again')
    assert tree_hashes(run) == done
    assert tree_hashes(root) == before

@pytest.mark.parametrize('how', ['in-process', pytest.param('console-script', marks=pytest.mark.slow)])
def test_refused_overwrite(tmp_path, how):
    ("A second run into a run folder, --resume --overwrite, and --resume with another config are refused and "
     "change nothing: in this process (fast), and through the installed console script in a fresh "
     "process (slow)")
    from reliability_helpers import noisyfast
    cli = main_inproc if how == 'in-process' else noisyfast
    run = tmp_path/'runs'/'again'
    run.mkdir(parents=True)
    RunFolder(run).write('config', 'seed: 1\n') # what a finished run left
    RunFolder(run).write('state', {'done': ['data', 'train'], 'weights': {}, 'metrics': {}})
    RunFolder(run).write('metrics', {'train': {'test_accuracy': 0.9}})
    done = tree_hashes(run)
    f = tiny_run(tmp_path, dict(name='digits', max_train=100), 'again')
    rc, out, err, sec = cli('run', f)
    assert_user_error(rc, err, f'{run} already exists: use --resume', '--overwrite')
    assert tree_hashes(run) == done
    rc, out, err, sec = cli('run', f, '--resume', '--overwrite')
    assert_user_error(rc, err, 'choose --resume or --overwrite, not both')
    assert tree_hashes(run) == done
    rc, out, err, sec = cli('run', f, '--resume') # another config: refused, named
    assert_user_error(rc, err, f'{run} was started with another config (differs in: ')
    assert tree_hashes(run) == done

@pytest.mark.slow
def test_a_running_run_is_neither_overwritten_nor_resumed(tmp_path):
    ("While a run is running, a second `--overwrite` or `--resume` of its folder (another terminal) is refused "
     "and names the process; the running run finishes untouched, and its folder can be resumed after")
    from reliability_helpers import finish_cli, start_cli, wait_for
    f = tiny_run(tmp_path, dict(name='digits', max_train=600), 'busy')
    cfg = yaml.safe_load(f.read_text())
    cfg['train']['stages'][0]['epochs'] = 4
    f.write_text(yaml.safe_dump(cfg))
    run = tmp_path/'runs'/'busy'
    p = start_cli(f, '--quiet')
    wait_for(p, run/'train') # past `prepare`: the folder is the running process's
    for how in (['--overwrite'], ['--resume'], ['--resume', '--processes', '2']): # 2: before torchrun starts
        rc, out, err, sec = main_inproc('run', f, *how)
        assert_user_error(rc, err, f'{run} is in use by another noisyfast run (pid {p.pid} on ',
                          'wait for it to end or stop it')
    assert p.poll() is None, 'the first run ended before the second was refused: make it longer'
    finish_cli(p)
    assert RunFolder(run).read('state')['done'] == ['data', 'train', 'clean', 'final', 'robustness']
    rc, out, err, sec = main_inproc('run', f, '--resume') # free again: every stage done, nothing to train
    assert rc == 0, err

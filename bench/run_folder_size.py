"""Disk space of a run folder: the same run with `train.save_optimizer` off (the default) and on.

Each variant is one `noisyfast.pipeline.run` of a shipped config with overrides (a ResNet-18 from random
weights on a CIFAR-10 slice by default: the checkpoint sizes are the model's, whatever the data), in a fresh
temporary folder; the table gives the bytes on disk of the run folder and of its checkpoints (`*.pth`).

  python bench/run_folder_size.py                      # -> results/cpu-run-folder-size.md (.json)
  python bench/run_folder_size.py --arch resnet50      # a bigger model: the same ratio, more bytes
"""
from __future__ import annotations
import argparse, shutil, sys, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _common import cell, write_results
from noisyfast.loaders import disk_bytes
from noisyfast.report import md_table

OVERRIDES = ['data.max_train=600', 'data.max_test=200', 'train.bs=64', 'clean.folds=2', 'clean.epochs=1',
             'evaluate.robustness=false', 'train.stages=[{"size": 32, "epochs": 1, "freeze_epochs": 0}]']

def measure(config:Path, arch:str, save_opt:bool, tmp:Path) -> dict:
    "Run `config` once into `tmp`; the disk space of its run folder and of its checkpoints"
    from noisyfast.config import load_config
    from noisyfast.pipeline import run
    cfg = load_config(config, OVERRIDES + [f'model.arch={arch}', f'train.save_optimizer={save_opt}',
                                           f'output_dir={tmp}', 'name=size'])
    run(cfg, progress=False, quiet=True)
    folder = tmp/'size'
    pth = sorted(folder.rglob('*.pth'))
    return dict(save_optimizer=save_opt, run_folder_mb=disk_bytes(folder) / 2**20,
                checkpoints=len(pth), checkpoints_mb=sum(map(disk_bytes, pth)) / 2**20,
                largest_mb=max(map(disk_bytes, pth)) / 2**20)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=str(ROOT/'configs'/'cifar10-sym50.yaml'))
    p.add_argument('--arch', default='resnet18')
    p.add_argument('--out', default=str(ROOT/'bench'/'results'/'cpu-run-folder-size.md'))
    a = p.parse_args(argv)
    rows = []
    for save_opt in (False, True):
        tmp = Path(tempfile.mkdtemp(prefix='run-size-'))
        try: rows.append(measure(Path(a.config), a.arch, save_opt, tmp))
        finally: shutil.rmtree(tmp, ignore_errors=True)
        print(rows[-1], flush=True)
    ratio = rows[1]['run_folder_mb'] / rows[0]['run_folder_mb']
    cols = [('save_optimizer', 'train.save_optimizer'), ('run_folder_mb', 'run folder (MiB)'),
            ('checkpoints', '.pth files'), ('checkpoints_mb', 'of which .pth (MiB)'),
            ('largest_mb', 'largest .pth (MiB)')]
    table = md_table(rows, cols, fmt=cell)
    print(table, f'\nwith the optimizer state: {ratio:.2f}x the disk', sep='\n')
    out = Path(a.out)
    f = write_results(out.stem, 'Disk space of a run folder, with and without the optimizer state',
                      settings=dict(config=a.config, arch=a.arch, overrides=OVERRIDES), data=rows,
                      sections=[('Run folder', table)], folder=out.parent,
                      notes=[f'The same run twice (train, 2-fold clean, final stages), {a.arch} from random '
                             'weights; bytes on disk (allocated blocks). With train.save_optimizer: true the '
                             f'run folder takes {ratio:.2f}x the disk of the default.'])
    print(f'-> {f}')

if __name__ == '__main__': main()

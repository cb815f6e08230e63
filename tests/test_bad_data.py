"""Bad data: every broken input a user can point noisyfast at gives a `DataError` naming the file or row and
what to do (printed by the CLI as `noisyfast: error: ...`, exit status 2, no traceback), or, for unreadable
images with `data.skip_bad: true`, is left out of every split and listed. Images of any mode or size work."""
import os, re
from pathlib import Path
import numpy as np
import pytest
import fastcore.test as ft
from PIL import Image
from reliability_helpers import (no_run_folder, run_config,
                                 assert_user_error, cifar10_source, corrupt, main_inproc, make_csv,
                                 make_folder, noisyfast, real_images, tree_hashes)
import noisyfast.data as data_module # (`noisyfast` is the console-script helper here)
from noisyfast.data import (CIFAR10_JPG, DataError, MissingFile, check_images, fetch, load_csv_source,
                            load_folder_source, load_images, load_source, split_data, verify_images)
from noisyfast.runs import RunFolder

@pytest.fixture
def pets(tmp_path):
    "A folder data set of 3 classes × 20 real images"
    return make_folder(tmp_path/'pets')

def first(folder, cls=0, ext='jpg'):
    return sorted((sorted(p for p in folder.iterdir() if p.is_dir())[cls]).glob(f'*.{ext}'))[0]

def error_of(f, *a, **kw) -> str:
    with pytest.raises(DataError) as e: f(*a, **kw)
    return str(e.value)

# ---------------------------------------------------------------- unreadable images

@pytest.mark.parametrize('how,reason', [('truncate', 'truncated'), ('empty', 'empty file (0 bytes)'),
                                        ('text', 'not an image')], ids=['truncated', 'empty', 'text'])
def test_unreadable_image_is_named_with_its_reason(pets, how, reason):
    bad = corrupt(first(pets), how)
    src = load_folder_source(pets)
    msg = error_of(verify_images, src)
    assert f'{bad}: {reason}' in msg and '1 unreadable image in folder' in msg, msg
    assert 'data.skip_bad: true' in msg, msg
    # decoding it later (what training does) names it too, never a raw PIL error
    assert f'{bad}: unreadable image' in error_of(load_images, src.train_x)

def test_truncated_png_and_text_named_png(pets):
    png = sorted(pets.rglob('*.png'))
    corrupt(png[0], 'truncate'); corrupt(png[1], 'text')
    msg = error_of(verify_images, load_folder_source(pets))
    assert ('2 unreadable images' in msg and f'{png[0]}: truncated' in msg
            and f'{png[1]}: not an image' in msg), msg

def test_skip_bad_removes_unreadable_files_from_every_split(pets):
    bad = [corrupt(first(pets, 0), 'truncate'), corrupt(first(pets, 1), 'empty'),
           corrupt(first(pets, 2), 'text')]
    src = load_folder_source(pets)
    ok = verify_images(src, skip_bad=True)
    assert len(ok.train_x) == len(src.train_x) - 3 == len(ok.train_y)
    assert [p for p, _ in ok.check.bad] == bad and ok.check.skipped
    assert any('skipped 3 unreadable image(s)' in n for n in ok.notes), ok.notes
    d = split_data(ok, seed=0)
    used = {str(p) for s in (d.train, d.valid, d.test, d.unlabeled) for p in s.x}
    assert not used & {str(p) for p in bad}
    assert len(used) == 57 and {s['path'] for s in d.skipped} == {str(p) for p in bad}
    a, badi = load_images(d.train.x) # nothing blank: every image left decodes
    assert badi == [] and (a.reshape(len(a), -1).max(1) > 0).all()

def test_skip_bad_refuses_to_empty_a_class(tmp_path):
    root = make_folder(tmp_path/'x', n_classes=2, per_class=4)
    for p in (root/sorted(os.listdir(root))[1]).iterdir(): corrupt(p, 'text')
    msg = error_of(verify_images, load_folder_source(root), skip_bad=True)
    assert 'has no readable training image left' in msg, msg

def test_csv_source_is_checked_too(tmp_path):
    f = make_csv(tmp_path/'own')
    bad = corrupt(tmp_path/'own'/'images'/'000.jpg', 'truncate') # row 2, an is_valid row
    assert f'{bad}: truncated' in error_of(verify_images, load_csv_source(f))
    ok = verify_images(load_csv_source(f), skip_bad=True)
    assert str(bad) not in {str(p) for p in ok.valid_x} and len(ok.valid_x) == 11

def iphone_photos(pairs:list):
    """HEIC copies (src, dest) of images as an iPhone stores a portrait: the pixels turned a quarter, with a
    rotation box (`irot`) and EXIF orientation 6 that turn them for viewers. Written in another process: this
    one reads them with what noisyfast registered alone"""
    import subprocess, sys
    code = ('''import sys, numpy as np, pillow_heif
from PIL import Image
pillow_heif.register_heif_opener()
ex = Image.Exif(); ex[0x0112] = 6
for src, dest in zip(sys.argv[1::2], sys.argv[2::2]):
    a = np.rot90(np.asarray(Image.open(src).convert('RGB')), 1) # stored turned: shown upright with 6
    Image.fromarray(np.ascontiguousarray(a)).save(dest, exif=ex.tobytes(), quality=-1)''')
    subprocess.run([sys.executable, '-c', code, *[str(p) for pair in pairs for p in pair]], check=True)
    assert all(b'irot' in Path(d).read_bytes() for _, d in pairs)

def test_csv_listing_iphone_photos(tmp_path):
    "CSV rows naming iPhone photos (HEIC) are read upright; a damaged one is named with its reason"
    f = make_csv(tmp_path/'own')
    img = tmp_path/'own'/'images'
    heic = img/'IMG_0001.HEIC'
    iphone_photos([(img/'001.png', heic)])
    label = f.read_text().split('\n')[2].split(',')[1] # the row of 001.png
    f.write_text(f.read_text() + f'images/IMG_0001.HEIC,{label},0\n')
    src = verify_images(load_csv_source(f))
    assert src.check.bad == [] and heic in src.train_x, src.check
    a, _ = load_images([img/'001.png', heic])
    assert np.abs(a[0].astype(int) - a[1]).mean() < 4 # the same picture, upright (a turned one: ~40)
    bad = img/'IMG_0002.HEIC'
    bad.write_bytes(heic.read_bytes()[:len(heic.read_bytes()) // 2]) # cut short
    f.write_text(f.read_text() + f'images/IMG_0002.HEIC,{label},0\n')
    msg = error_of(verify_images, load_csv_source(f))
    assert (f"{bad}: a HEIC/HEIF file pillow-heif cannot read (damaged, cut short, or another codec inside): "
            'convert it to JPEG') in msg, msg

def test_builtin_archives_are_trusted_arrays_have_nothing_to_check():
    assert verify_images(load_source('digits')).check is None
    src = cifar10_source()
    if src is not None:
        assert src.trusted and verify_images(src) is src # the archive's checksum vouches for its files

def test_check_is_fast():
    "Checking is one open and a (JPEG: 1/8-scale) decode per file, in threads"
    src = cifar10_source()
    if src is None: pytest.skip('no archive folder: set NOISYFAST_ARCHIVE')
    chk = check_images(src.test_x[:2000])
    assert chk.n == 2000 and not chk.bad and chk.channels == 'rgb'
    assert chk.seconds < 20, f'{chk.seconds:.1f} s for 2,000 files'

# ---------------------------------------------------------------- modes and sizes

def test_every_mode_and_size_works(tmp_path):
    rgb = real_images(1, 1)[0][0] # a real 32×32 RGB image
    g = np.asarray(Image.fromarray(rgb).convert('L'))
    d = tmp_path/'modes'/'a'; d.mkdir(parents=True)
    (tmp_path/'modes'/'b').mkdir()
    Image.fromarray(rgb).save(d/'rgb.jpg')
    Image.fromarray(g).save(d/'gray.png')
    Image.fromarray(g.astype(np.uint16) * 257).save(d/'gray16.png') # 16-bit
    Image.fromarray(rgb).convert('P').save(d/'palette.png')
    pt = Image.fromarray(rgb).convert('P'); pt.info['transparency'] = 0; pt.save(d/'palette_t.png')
    Image.fromarray(rgb).convert('RGBA').save(d/'rgba.png')
    Image.fromarray(g).convert('LA').save(d/'la.png')
    Image.fromarray(rgb).convert('CMYK').save(d/'cmyk.jpg')
    Image.fromarray(g).convert('1').save(d/'bw.png')
    Image.fromarray(rgb).save(d/'rgb.bmp'); Image.fromarray(rgb).save(d/'rgb.tif')
    Image.fromarray(rgb).save(d/'x.webp'); Image.fromarray(rgb).save(d/'x.avif', quality=95)
    Image.fromarray(rgb).save(d/'saved-from-a-browser.jfif') # a JPEG
    Image.fromarray(rgb).resize((48, 20)).save(tmp_path/'modes'/'b'/'wide.png') # another size
    Image.fromarray(rgb).save(tmp_path/'modes'/'b'/'UPPER.JPG')
    src = verify_images(load_folder_source(tmp_path/'modes'))
    chk = src.check
    assert chk.bad == [] and chk.n == 16 and chk.channels == 'rgb' and chk.n_sizes == 2, chk
    assert {'RGB', 'L', 'I;16', 'P', 'RGBA', 'LA', 'CMYK', '1'} <= set(chk.modes), chk.modes
    a, bad = load_images(src.train_x, size=16, channels=chk.channels)
    assert a.shape == (16, 16, 16, 3) and bad == []
    a, _ = load_images(src.train_x, channels='rgb') # native: the first image's size
    assert a.shape == (16, 32, 32, 3)
    names = [Path(p).name for p in src.train_x]
    at = lambda n: a[names.index(n)].astype(int)
    assert np.abs(at('gray16.png')[..., 0] - g).max() <= 1 # 16 bits scaled to 8, not clipped
    assert np.abs(at('gray.png') - g[..., None]).max() == 0 # gray replicated to RGB
    assert np.abs(at('rgba.png') - rgb).max() == 0
    assert np.abs(at('cmyk.jpg') - rgb).mean() < 20 # CMYK converted (through JPEG)
    assert np.abs(at('palette.png') - rgb).mean() < 20
    assert np.abs(at('x.avif') - rgb).mean() < 20
    assert np.abs(at('saved-from-a-browser.jfif') - rgb).mean() < 20
    # all grayscale: auto keeps 1 channel
    gray, _ = load_images([d/'gray.png', d/'gray16.png', d/'la.png', d/'bw.png'])
    assert gray.shape == (4, 32, 32, 1)
    d2 = split_data(src, seed=0)
    assert d2.channels == 'rgb' # what `channels: auto` should decode this data set to

# ---------------------------------------------------------------- folders

def test_cli_data_check_says_what_it_left_out(pets, monkeypatch):
    """`noisyfast data check` of a folder: the unreadable files, and the notes a run would print; how far it is
    as it goes (here after every file: progress lines at most every 0 s)"""
    cls = sorted(p for p in pets.iterdir() if p.is_dir())[0]
    corrupt(first(pets), 'truncate')
    (cls/'notes.txt').write_text('mine'); (cls/'IMG_7.MOV').write_bytes(b'x') # a live photo's clip
    Image.new('RGB', (2, 2)).save(cls/'thumb.png')
    monkeypatch.setattr(data_module, 'PROGRESS_EVERY', 0.)
    rc, out, err, _ = main_inproc('data', 'check', 'folder', '--path', pets)
    assert_user_error(rc, err, '1 unreadable image file(s), listed above')
    assert out.startswith('1 of 61 image files checked (') and ' left)\n2 of 61 ' in out, out[:300]
    # the 60 readable files are remembered: a run started next does not decode them again
    keys = [data_module._file_key(p) for p in pets.rglob('*.*') if p.suffix in ('.jpg', '.png')]
    assert len(keys) == 61 and len(data_module.KnownImages().get(keys)) == 60, keys
    for s in ('checked 61 image files', '1 unreadable', f'{first(pets)}: truncated',
              f'note: 2 file(s) in the class folders of {pets} are not images by their names, left out: '
              '.mov 1, .txt 1\n',
              'note: image size WARNING: 1 image is less than a quarter of the median'):
        assert s in out, out

@pytest.mark.parametrize('loader', ['fast', 'fastai'])
def test_folder_of_iphone_photos(tmp_path, loader):
    """A folder of iPhone photos (HEIC, portraits stored turned) trains as the same photos in PNG, with
    either loader: every photo read, upright (test probabilities within 0.01; ~0.001 apart by HEIC's rounding,
    0.03-0.05 when the photos are read as stored); the fast path decodes each photo once (the check's
    decode)"""
    png = make_folder(tmp_path/'png', n_classes=2, per_class=10, fmt=('png',))
    heic = tmp_path/'heic'
    for p in sorted(png.rglob('*.png')): (heic/p.parent.name).mkdir(parents=True, exist_ok=True)
    iphone_photos([(p, heic/p.parent.name/f'IMG_{p.stem}.HEIC') for p in sorted(png.rglob('*.png'))])
    probs = {}
    for d in (png, heic):
        cfg = run_config(d, bs=8, data=dict(name='folder', path=str(d), loader=loader),
                         evaluate=dict(robustness=False))
        rc, out, err, _ = main_inproc('run', cfg)
        assert rc == 0, err
        run = RunFolder(d/'out'/'r')
        n = run.read('data')['data']
        assert (n['train'] + n['valid'] + n['test'], run.read('data')['notes']) == (20, []), n
        if loader == 'fast': # the check's decode of each photo is the one training uses: no second decode
            assert re.search(r'\] decoded 20 images in [\d.]+ s \(20 as the check decoded them, not decoded '
                             r'twice\)\n', out), out
        probs[d.name] = [np.load(f) for f in sorted((d/'out'/'r').rglob('test_probs.npy'))]
    assert len(probs['png']) == 1 and np.abs(probs['png'][0] - probs['heic'][0]).max() < 0.01, probs

def test_empty_class_folder(pets):
    (pets/'zebra').mkdir()
    msg = error_of(load_folder_source, pets)
    assert f"{pets/'zebra'}: class 'zebra' has no images" in msg and 'remove the folder' in msg, msg

def test_folder_not_there_or_not_set(tmp_path, monkeypatch):
    msg = error_of(load_folder_source, tmp_path/'nope')
    assert f"{tmp_path/'nope'}: no such folder; data.path must be the folder of class sub-folders" in msg, msg
    (tmp_path/'f.jpg').write_bytes(b'')
    assert 'f.jpg: is a file, not a folder; data.path' in error_of(load_folder_source, tmp_path/'f.jpg')
    monkeypatch.chdir(tmp_path) # a relative path: the folder it was looked for in is said
    assert f'photos: no such folder (a path relative to {tmp_path}, where the command runs)' in \
        error_of(load_folder_source, 'photos')
    assert 'data.path is not set' in error_of(load_folder_source, None)
    (tmp_path/'flat').mkdir(); Image.new('RGB', (4, 4)).save(tmp_path/'flat'/'a.png')
    assert 'no class sub-folders' in error_of(load_folder_source, tmp_path/'flat')

def test_folder_classes_list(pets):
    names = sorted(os.listdir(pets))
    src = load_folder_source(pets, classes=names[::-1])
    assert src.vocab == names[::-1]
    msg = error_of(load_folder_source, pets, classes=names[:2])
    assert f"class folder '{names[2]}' is not one of the classes in data.classes" in msg, msg
    assert "class 'unicorn' has no folder" in error_of(load_folder_source, pets, classes=names + ['unicorn'])
    assert "lists 'a' twice" in error_of(load_folder_source, pets, classes=['a', 'a'])

def test_split_folders_valid_class_not_in_train(tmp_path):
    root = tmp_path/'split'
    make_folder(root/'train', n_classes=2, per_class=6)
    make_folder(root/'valid', n_classes=3, per_class=2) # a third class only in valid/
    extra = real_images(3, 2)[2][2]
    msg = error_of(load_folder_source, root)
    assert f"{root/'valid'/extra}: class folder '{extra}' is not a class of the train folder" in msg, msg

def test_hidden_and_loose_files_are_not_images(pets):
    cls = sorted(pets.iterdir())[0]
    (cls/'.DS_Store').write_bytes(b'\0\0')
    (cls/'._000.png').write_bytes(b'\0\5\26\7') # a macOS resource fork with an image name
    (cls/'notes.txt').write_text('hello')
    Image.new('RGB', (4, 4)).save(pets/'stray.png')
    src = load_folder_source(pets)
    assert len(src.train_x) == 60 and not any(Path(p).name.startswith('.') for p in src.train_x)
    assert any('stray.png' in n and 'left out' in n for n in src.notes), src.notes
    note = f'1 file(s) in the class folders of {pets} are not images by their names, left out: .txt 1'
    assert note in src.notes, src.notes
    assert verify_images(src).check.bad == []

def test_a_run_says_the_files_it_leaves_out(pets, tmp_path):
    ("A run on a folder with a text file and a stray image says what it left out on the terminal and in "
     "log.txt, as `data check` does (it was only in data.json)")
    from noisyfast.runs import RunFolder
    cls = sorted(pets.iterdir())[0]
    (cls/'notes.txt').write_text('hello'); Image.new('RGB', (4, 4)).save(pets/'stray.png')
    cfg = run_config(tmp_path, data=dict(name='folder', path=str(pets)),
                     train=dict(stages=[dict(size=16, epochs=1)]))
    rc, out, err, _ = main_inproc('run', cfg, '--no-report')
    assert rc == 0, err
    note = f'1 file(s) in the class folders of {pets} are not images by their names, left out: .txt 1'
    log = RunFolder(tmp_path/'out'/'r').file('log').read_text()
    assert note in out and note in log, out
    assert 'stray.png' in out and 'label noise' not in out # (no noise asked)

# ---------------------------------------------------------------- CSVs

def write_csv(tmp_path, text, name='labels.csv'):
    "tmp_path/img/<class>/<i>.png|jpg (2 × 2 images) and a CSV `text` whose {0}, {1} are the first two images"
    make_folder(tmp_path/'img', n_classes=2, per_class=2)
    imgs = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path/'img').rglob('*.*'))
    f = tmp_path/name
    if isinstance(text, bytes):
        f.write_bytes(text.replace(b'{0}', imgs[0].encode()).replace(b'{1}', imgs[1].encode()))
    else: f.write_text(text.format(*imgs), encoding='utf-8')
    return f

def test_csv_missing_file_names_row(tmp_path):
    f = write_csv(tmp_path, 'path,label\n{0},a\nimg/nope.jpg,b\n')
    assert "labels.csv, row 3: image 'img/nope.jpg' not found" in error_of(load_csv_source, f)

def test_csv_duplicate_path_names_both_rows(tmp_path):
    f = write_csv(tmp_path, 'path,label\n{0},a\n{1},a\n./{0},b\n')
    p = f.read_text().splitlines()[1].split(',')[0]
    assert f"row 4: duplicate path './{p}' (also row 2)" in error_of(load_csv_source, f)

def test_csv_label_not_in_class_list(tmp_path):
    f = write_csv(tmp_path, 'path,label\n{0},cat\n{1},dgo\n')
    msg = error_of(load_csv_source, f, classes=['cat', 'dog'])
    assert ("row 3: label 'dgo' is not one of the classes in data.classes (did you mean 'dog'?): "
            "cat, dog") in msg, msg
    src = load_csv_source(f, classes=['dgo', 'cat']) # the order given is the label order
    assert src.vocab == ['dgo', 'cat'] and list(src.train_y) == [1, 0]
    assert "class 'cow' of data.classes has no rows" in error_of(load_csv_source, f,
                                                                 classes=['cat', 'dgo', 'cow'])

@pytest.mark.parametrize('text,needle', [
    ('file,class\n{0},a\n', 'needs the columns path,label[,is_valid]; missing path,label'),
    ('path\n{0}\n', 'missing label'),
    ('', 'the CSV file is empty'),
    ('path,label\n', 'the CSV lists no images'),
    ('path,label\n{0},\n', "row 2: empty label for"),
    ('path,label\n,a\n', 'row 2: empty path'),
    ('path,label,is_valid\n{0},a,maybe\n', "row 2: is_valid is 'maybe'; use true/false or 1/0"),
    ('path,label,is_valid\n{0},a,1\n', 'every row has is_valid true'),
    ('path,label\nimg,a\n', 'is a folder, not an image file'),
    (b'path,label\n{0},caf\xe9\n', 'not a UTF-8 text file'),
], ids=['columns', 'no-label-column', 'empty-file', 'header-only', 'empty-label', 'empty-path', 'is_valid',
        'all-valid', 'folder-path', 'latin-1'])
def test_csv_mistakes(tmp_path, text, needle):
    f = write_csv(tmp_path, text)
    msg = error_of(load_csv_source, f)
    assert needle in msg and str(f) in msg, msg

def test_csv_lenient_where_harmless(tmp_path):
    "A BOM (Excel), header case, spaces around values, blank lines and short rows are fine"
    f = write_csv(tmp_path, '\ufeffPath , Label,IS_VALID\n {0} , a ,0\n\n{1},b\n')
    src = load_csv_source(f)
    assert src.vocab == ['a', 'b'] and len(src.train_x) == 2

# ---------------------------------------------------------------- archives

def test_archive_checksum_mismatch(tmp_path):
    (tmp_path/CIFAR10_JPG.name).write_bytes(b'not the archive')
    msg = error_of(fetch, CIFAR10_JPG, tmp_path, download_ok=False)
    assert (f'{tmp_path/CIFAR10_JPG.name}: checksum mismatch' in msg
            and 'copy or download it again' in msg), msg
    # the loader reports the mismatch, not a fallback archive that is missing
    msg = error_of(load_source, 'cifar10', tmp_path, download_ok=False)
    assert 'checksum mismatch' in msg, msg
    with pytest.raises(MissingFile): fetch(CIFAR10_JPG.__class__('nothing.tgz'), tmp_path, download_ok=False)

def test_cli_archive_checksum_mismatch(tmp_path):
    (tmp_path/CIFAR10_JPG.name).write_bytes(b'not the archive')
    rc, out, err, _ = noisyfast('data', 'info', 'cifar10', '--path', tmp_path)
    assert_user_error(rc, err, 'checksum mismatch', str(tmp_path/CIFAR10_JPG.name))

def test_cli_data_info_first_image_unreadable(pets):
    corrupt(first(pets, 0, 'jpg'), 'text'); corrupt(first(pets, 0, 'png'), 'empty')
    rc, out, err, _ = noisyfast('data', 'info', 'folder', '--path', pets)
    assert rc == 0 and 'images: train 60' in out and 'image size: 32x32, 3 channels' in out, out + err

# ---------------------------------------------------------------- through `noisyfast run`

@pytest.mark.parametrize('setup,needle', [
    ('empty_class', "class 'zebra' has no images"),
    ('csv_missing', "row 3: image 'img/nope.jpg' not found"),
    ('no_path', "data.name is 'folder' but data.path is not set"),
], ids=['empty_class', 'csv_missing', 'no_path'])
def test_run_refuses_bad_data_before_any_work(tmp_path, pets, setup, needle):
    if setup == 'empty_class':
        (pets/'zebra').mkdir(); data = dict(name='folder', path=str(pets))
    elif setup == 'csv_missing':
        f = write_csv(tmp_path, 'path,label\n{0},a\nimg/nope.jpg,b\n'); data = dict(name='csv', path=str(f))
    else: data = dict(name='folder')
    before = tree_hashes(pets)
    rc, out, err, sec = main_inproc('run', run_config(tmp_path, bs=16, data=data))
    assert_user_error(rc, err, needle)
    assert no_run_folder(tmp_path) and sec < 30
    assert tree_hashes(pets) == before

def test_make_data_refuses_truncated_jpeg(pets):
    ("The check is on the data path: `make_data` (what `run` calls first) refuses the file, not only "
     "`verify_images`")
    from noisyfast.config import load_config
    from noisyfast.noise import make_data
    bad = corrupt(first(pets, 1, 'jpg'), 'truncate')
    msg = error_of(make_data, load_config(None, data=dict(name='folder', path=str(pets))))
    assert f'{bad}: truncated' in msg and 'data.skip_bad: true' in msg, msg

def test_run_refuses_unreadable_image_before_training(tmp_path, pets):
    bad = corrupt(first(pets, 1), 'truncate')
    rc, out, err, sec = main_inproc('run',
                                    run_config(tmp_path, bs=16, data=dict(name='folder', path=str(pets))))
    assert_user_error(rc, err, f'{bad}: truncated', 'data.skip_bad: true')
    assert no_run_folder(tmp_path), list((tmp_path/'out').rglob('*'))

def test_run_skip_bad_lists_skipped_files(tmp_path, pets):
    import json
    bad = sorted(str(corrupt(first(pets, c), h)) for c, h in ((0, 'text'), (2, 'empty')))
    rc, out, err, _ = main_inproc('run', run_config(tmp_path, bs=16,
                                  data=dict(name='folder', path=str(pets), skip_bad=True)))
    assert rc == 0, err
    info = RunFolder(tmp_path/'out'/'r').read('data')
    assert sorted(s['path'] for s in info['skipped']) == bad, info
    d = info['data']
    assert d['train'] + d['valid'] + d['test'] == 58

def test_run_mixed_modes_with_channels_auto(tmp_path):
    "A folder whose first images are grayscale but others colour (and other sizes) trains with channels: auto"
    root = make_folder(tmp_path/'mixed', n_classes=2, per_class=12)
    for i, p in enumerate(sorted(root.rglob('*.png'))):
        im = Image.open(p).convert('RGB')
        (im.convert('L') if i % 3 == 0 else im.convert('RGBA') if i % 3 == 1 else im.resize((40, 24))).save(p)
    rc, out, err, _ = main_inproc('run',
                                  run_config(tmp_path, bs=16, data=dict(name='folder', path=str(root))))
    assert rc == 0, err

def test_a_class_of_one_photo_is_said_to_go_unmeasured(tmp_path):
    "A class folder with one photo lands in the train split only: the run says valid and test leave it out"
    root = make_folder(tmp_path/'one', n_classes=2, per_class=12)
    (root/'star').mkdir()
    next(root.glob('*/*.png')).rename(root/'star'/'0.png')
    rc, out, err, _ = main_inproc('run', run_config(tmp_path, bs=16, data=dict(name='folder', path=str(root))))
    assert rc == 0, err
    said = out + err
    for split in ('valid', 'test'):
        assert f"no {split} image of class 'star'" in said, said[-3000:]
    assert 'add images of it' in (tmp_path/'out'/'r'/'log.txt').read_text() # and in the run's log

@pytest.mark.slow
def test_console_script_refuses_bad_data(tmp_path, pets):
    "The same refusal through the installed console script, in a fresh process"
    (pets/'zebra').mkdir()
    rc, out, err, sec = noisyfast('run',
                                  run_config(tmp_path, bs=16, data=dict(name='folder', path=str(pets))))
    assert_user_error(rc, err, "class 'zebra' has no images")
    assert no_run_folder(tmp_path)

def test_run_non_square_images_of_many_sizes(tmp_path):
    "Photos of many non-square sizes, no data.image_size: the run trains (at the median size, next test)"
    root = make_folder(tmp_path/'photos', n_classes=2, per_class=12)
    sizes = [(40, 24), (24, 40), (33, 33), (50, 30)]
    for i, p in enumerate(sorted(root.rglob('*.*'))):
        Image.open(p).convert('RGB').resize(sizes[i % 4]).save(p)
    rc, out, err, _ = main_inproc('run',
                                  run_config(tmp_path, bs=16, data=dict(name='folder', path=str(root))))
    assert rc == 0, err

def test_train_and_test_of_other_sizes_decode_at_one_size(tmp_path):
    """A folder whose test/ images are larger than its train/ ones, no data.image_size: every split is decoded
    at the median size of all the files, the size the run's note names (the test split used to get its own
    median)"""
    from noisyfast.config import load_config
    from noisyfast.noise import make_data
    from noisyfast.pipeline import decode_images
    from noisyfast.train import data_arrays
    for part, side, n in (('train', 32, 14), ('test', 48, 6)):
        make_folder(tmp_path/'sizes'/part, n_classes=2, per_class=n)
        for p in (tmp_path/'sizes'/part).rglob('*.*'):
            Image.open(p).convert('RGB').resize((side, side)).save(p)
    cfg = load_config(run_config(tmp_path, data=dict(name='folder', path=str(tmp_path/'sizes'))))
    data, _ = make_data(cfg)
    note = ('image size: 2 sizes, heights 32 to 48, widths 32 to 48 px: decoded at data.image_size, or when '
            'it is unset at 32x32, the median of the sizes (shrunk to twice the largest training size if larger)')
    assert note in data.notes, data.notes
    arrays = data_arrays(cfg, data)
    decode_images(cfg, data, arrays, lambda *a: None)
    assert [tuple(arrays.images(s).shape[1:3]) for s in (data.train, data.valid, data.test)] == [(32, 32)] * 3

def test_dim_16bit_scans_are_said_before_training(tmp_path, monkeypatch):
    """A folder of a 12-bit camera's 16-bit grayscale PNGs (values up to 4,095): the run says before training
    how few grey levels their top 8 bits keep, with the brightest value found and the scale to convert by"""
    root = make_folder(tmp_path/'scans', n_classes=2, per_class=8, fmt=('png',))
    for p in root.rglob('*.png'): # 0-255 times 16: 0 to 4,080
        Image.fromarray(np.asarray(Image.open(p).convert('L'), np.uint16) * 16).save(p)
    top = max(int(np.asarray(Image.open(p)).max()) for p in root.rglob('*.png'))
    assert 2048 <= top <= 4080, top
    rc, out, err, _ = main_inproc('run', run_config(tmp_path, bs=8, data=dict(name='folder', path=str(root)),
                                                    evaluate=dict(robustness=False)))
    assert rc == 0, err
    said = (f'] grey depth WARNING: the brightest pixel of the 16 16-bit grayscale images is {top:,} of '
            f'65,535 (12 bits used): decoded to 8 bits (their top 8), they keep {(top >> 8) + 1} grey levels')
    assert said in out and out.index(said) < out.index('] train epoch 1/1'), out
    # a later run (a new process: only the cache folder's record of checked files remembers) decodes none of
    # the files to check them, and says it again
    data_module._CHECKED.clear()
    checked = []
    monkeypatch.setattr(data_module, '_check_one', lambda p, *a, **k: checked.append(p))
    rc, out, err, _ = main_inproc('run', run_config(tmp_path, bs=8, data=dict(name='folder', path=str(root)),
                                                    evaluate=dict(robustness=False)), '--overwrite')
    assert rc == 0, err
    assert checked == [] and said in out, (checked, out)

def test_large_photos_decode_at_twice_the_training_size(tmp_path):
    """Photos far larger than the model's input (no data.image_size) are decoded once at twice the largest
    stage size (short side, aspect kept), said in the log, recorded in the checkpoint; `predict` decodes new
    files the same way, to the run's own test probabilities (the run's pixels are its check's decodes)"""
    root = make_folder(tmp_path/'photos', n_classes=2, per_class=12, fmt=('jpg',))
    for p in root.rglob('*.jpg'): Image.open(p).resize((300, 400), Image.BILINEAR).save(p, quality=95)
    rc, out, err, _ = main_inproc('run', run_config(tmp_path, bs=8, data=dict(name='folder', path=str(root)),
                                                    evaluate=dict(robustness=False)))
    assert rc == 0, err
    assert ('] decoding 24 images at 43x32: their median size 400x300 shrunk to 2x the largest training '
            'size') in out, out
    # the check decoded each JPEG at the training decode's scale, and training took that decode
    assert re.search(r'\] decoded 24 images in [\d.]+ s \(24 as the check decoded them, not decoded '
                     r'twice\)', out), out
    run = tmp_path/'out'/'r'
    from noisyfast.predict import load_run_model, predict_files
    m = load_run_model(run)
    assert m.decoded == (43, 32, 3), m.decoded # 2 × 16 px: the short side 300 -> 32, the long 400 -> 43
    data_json = RunFolder(run).read('data')
    test_files = sorted(root.rglob('*.jpg'))
    pr = predict_files(m, test_files)
    probs = np.load(next(run.rglob('test_probs.npy')))
    # the run's test images are some of these files: their rows must be the run's own probabilities
    assert len(probs) == data_json['data']['test'] and len(pr.probs) == 24
    near = np.abs(probs[:, None] - pr.probs[None]).max(-1).min(1) # each test row's closest prediction
    assert (near < 1e-5).all(), (near, probs, pr.probs)

def test_photos_stored_turned_train_as_shown(tmp_path):
    """Photos stored turned with an EXIF orientation tag (as phones save them) train as viewers show them: a
    run on them is the very run on the same pictures stored upright (same seed: the same test
    probabilities)"""
    up = make_folder(tmp_path/'upright', n_classes=2, per_class=12, fmt=('png',))
    undo = {3: lambda a: a[::-1, ::-1], 6: lambda a: np.rot90(a, 1), 8: lambda a: np.rot90(a, -1)}
    for i, p in enumerate(sorted(up.rglob('*.png'))):
        Image.open(p).convert('RGB').resize((24, 40)).save(p) # shown 40 high, 24 wide
        o, a = (3, 6, 8)[i % 3], np.asarray(Image.open(p))
        q = tmp_path/'turned'/p.relative_to(up)
        q.parent.mkdir(parents=True, exist_ok=True)
        ex = Image.Exif(); ex[0x0112] = o
        Image.fromarray(np.ascontiguousarray(undo[o](a))).save(q, exif=ex)
    ft.test_eq(Image.open(q).size, (40, 24)) # as stored: 24 high (PIL alone does not turn it)
    ft.test_eq(check_images(sorted((tmp_path/'turned').rglob('*.png'))).max_hw, (40, 24))
    probs = {}
    for name in ('upright', 'turned'):
        d = tmp_path/name
        rc, out, err, _ = main_inproc('run', run_config(d, bs=16, data=dict(name='folder', path=str(d))))
        assert rc == 0, err
        probs[name] = {p.relative_to(d/'out'): p.read_bytes() for p in (d/'out').rglob('*.npy')}
    assert probs['upright'] and probs['upright'] == probs['turned'], sorted(probs['upright'])

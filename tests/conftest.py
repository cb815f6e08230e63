import pytest

@pytest.fixture
def archive():
    "The archive folder; a test that needs it skips without one, and fails under CI=true (a DataError)"
    from noisyfast.data import archive_for_tests
    d = archive_for_tests()
    if d is None: pytest.skip('no archive folder: set NOISYFAST_ARCHIVE')
    return d

def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='run the tests marked slow')

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: slow test, skipped unless --runslow')

def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'): return
    skip = pytest.mark.skip(reason='slow: run with --runslow')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)

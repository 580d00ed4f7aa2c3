"""The committed example bundles are exactly what the code renders.

``tools/render-examples --into DIR`` re-renders every examples/<name>/
from its spec file; any difference from the committed bundle (a file
added, missing or changed) fails, so the examples never go stale.
Re-run ``tools/render-examples`` and commit to update them.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / 'examples'
NAMES = sorted(path.parent.name for path in EXAMPLES.glob('*/spec.yaml'))


def _tree(root):
    return {str(path.relative_to(root)): path.read_text()
            for path in sorted(root.rglob('*')) if path.is_file()}


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    into = tmp_path_factory.mktemp('examples')
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'render-examples'),
                    '--into', str(into)], check=True, capture_output=True,
                   timeout=120)
    return into


def test_examples_cover_default_volume_and_tls():
    assert set(NAMES) >= {'default', 'volume', 'tls'}


@pytest.mark.parametrize('name', NAMES)
def test_example_bundle_matches_a_fresh_render(rendered, name):
    committed = _tree(EXAMPLES / name / 'bundle')
    fresh = _tree(rendered / name / 'bundle')

    assert sorted(committed) == sorted(fresh)
    changed = [path for path in fresh if committed[path] != fresh[path]]
    assert changed == [], 'run tools/render-examples: %s changed' % changed


def test_tls_example_uses_the_labelled_test_material():
    readme = (EXAMPLES / 'tls' / 'README.md').read_text()
    cert = (EXAMPLES / 'tls' / 'test-only-cert.pem').read_text()

    assert readme.startswith('# TEST MATERIAL ONLY')
    environment = (EXAMPLES / 'tls' / 'bundle' / 'environment.yaml')
    assert cert.strip().splitlines()[1] in environment.read_text()

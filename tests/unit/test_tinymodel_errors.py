"""`servecap tiny-model` on a folder it cannot create: one line and exit code 2."""

from __future__ import annotations

import pytest

from helpers import run_cli
from servecap.errors import InputError
from servecap.tinymodel import write_tiny_model


@pytest.mark.parametrize("folder", ["/proc/x", "{file}/sub", "{file}"])
def test_unwritable_folder_is_one_line_and_exit_2(tmp_path, folder):
    some_file = tmp_path / "some-file"
    some_file.write_text("not a folder")
    target = folder.format(file=some_file)
    result = run_cli("tiny-model", target)
    assert result.code == 2
    assert result.stderr.startswith(f"servecap: error: cannot write a model to '{target}'")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_the_library_raises_an_input_error(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="Not a directory"):
        write_tiny_model(tmp_path / "f" / "sub")

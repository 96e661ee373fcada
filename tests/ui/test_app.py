"""Starting the app: a port or workspace it cannot use is one line with the fix, before start-up."""

from __future__ import annotations

import socket

from workbench.ui.app import main


def test_a_port_in_use_is_named_with_a_free_one_to_try(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port), "--workspace", str(tmp_path), "--no-standby"]) == 2
    assert capsys.readouterr().err == (
        f"error: port {port} is in use (another program, or a Workbench already running: try "
        f"http://127.0.0.1:{port}); pass --port with a free one, e.g. --port {port + 1}\n")
    assert not (tmp_path / "runs").exists()  # nothing was set up


def test_a_workspace_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a folder")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert main(["--port", str(port), "--workspace", str(tmp_path / "notes.txt"), "--no-standby"]) == 2
    assert capsys.readouterr().err == (
        f"error: cannot use '{tmp_path / 'notes.txt'}' as the workspace (Not a directory); pass --workspace "
        "with a folder this user can write\n")

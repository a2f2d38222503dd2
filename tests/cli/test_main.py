"""The ``execproto`` command dispatcher."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from execproto._cli.main import main


def test_without_a_command_usage_is_printed_and_exit_code_is_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert 2 == info.value.code
    assert "COMMAND" in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert 0 == info.value.code
    out = capsys.readouterr().out
    assert [] == [name for name in ("check", "run", "serve-mcp") if name not in out]


def test_a_reader_that_closes_the_pipe_ends_the_command_without_a_traceback() -> None:
    # A command whose output outgrows the pipe while the reader has already gone.
    script = textwrap.dedent(
        """
        import sys, types
        from execproto._cli import main as cli

        command = types.ModuleType("flood")
        command.add_arguments = lambda parser: None
        def run(args):
            for _ in range(100_000):
                print("x" * 100)
            return 0
        command.run = run
        sys.modules["flood"] = command
        cli._COMMANDS["flood"] = ("flood", "print a lot")
        sys.exit(cli.main(["flood"]))
        """
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert writer.stdout is not None
    writer.stdout.read(10)
    writer.stdout.close()
    _, err = writer.communicate(timeout=60)
    assert 1 == writer.returncode
    assert b"Traceback" not in err

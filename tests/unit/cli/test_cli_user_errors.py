"""user_errors: what a user can cause ends in one line and an exit status, never a traceback."""

from __future__ import annotations

import sqlite3

import pytest
import typer
from sqlalchemy.exc import OperationalError

from tripcast.cli.console import BUSY_MESSAGE, user_errors
from tripcast.core.domain.errors import TripcastError
from tripcast.core.ports.locks import LOCK_HELD_EXIT_CODE


def failing(error: BaseException):
    @user_errors
    def command() -> None:
        raise error

    return command


def test_a_database_another_process_keeps_locked_is_busy_exit_75_in_one_line(capsys):
    locked = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    with pytest.raises(typer.Exit) as raised:
        failing(locked)()
    assert raised.value.exit_code == LOCK_HELD_EXIT_CODE
    err = capsys.readouterr().err
    assert BUSY_MESSAGE in " ".join(err.split()) and "Traceback" not in err and "SELECT" not in err


def test_a_user_error_is_one_line_and_exit_1(capsys):
    with pytest.raises(typer.Exit) as raised:
        failing(TripcastError("no versions of 'm' registered yet"))()
    assert raised.value.exit_code == 1
    assert "error: no versions of 'm' registered yet" in capsys.readouterr().err


def test_any_other_database_error_is_not_disguised_as_busy():
    broken = OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error"))
    with pytest.raises(OperationalError):
        failing(broken)()

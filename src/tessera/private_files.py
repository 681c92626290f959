"""The data folder's files and folders, made readable by their owner only: folders 0700,
files 0600, whatever the process's umask. It holds the journal, the security store
(token hashes, the audit trail), the CA's and the server's keys and the client
certificate packages: nothing in it is for other users of the machine.

Only what is created here gets these modes; a file or folder that is already there keeps
its own (an operator may have chosen them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

FOLDER_MODE: Final = 0o700
FILE_MODE: Final = 0o600


def private_folder(path: Path) -> Path:
    """``path`` as a folder, created (with any missing parents) owner-only."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is its maker's
        os.chmod(folder, FOLDER_MODE)  # exactly this mode, whatever the umask
    return path


def private_file(path: Path) -> bool:
    """Create ``path`` empty and owner-only, in an owner-only folder, unless it exists;
    whether it was created. A database opened on it afterwards keeps its mode, and
    SQLite gives its -wal and -shm files the database file's mode."""
    private_folder(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, FILE_MODE)  # exactly this mode, whatever the umask
    finally:
        os.close(descriptor)
    return True

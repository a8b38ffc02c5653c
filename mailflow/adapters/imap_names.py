"""Folder names: the config writes levels with "/" ("mailflow/processed"); each server has its own
hierarchy separator ("." on Dovecot's and Courier's maildir defaults and Cyrus, "/" on Gmail and Exchange) and
sometimes a personal namespace prefix ("INBOX." on Courier and older Cyrus). Pure: the server's answers come
in as values.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailflow.errors import MailboxError


@dataclass(frozen=True)
class Hierarchy:
    """What the server said about its folder names: LIST "" "" gives the separator (None: a flat server),
    NAMESPACE the prefix of the user's own folders ("" on most servers)."""

    separator: str | None
    prefix: str = ""


def server_name(folder: str, hierarchy: Hierarchy, key: str = "the folder") -> str:
    """The server's name for `folder` as written in the config. Raises MailboxError naming the folder, the
    separator and the fix when the server cannot hold it.

    A name without "/" is taken as the server's own (so "INBOX.signup" written for a "." server keeps
    working); only "/" is mailflow's notation, and then no level may contain the server's separator.
    """
    if folder.upper() == "INBOX":
        return folder
    sep = hierarchy.separator
    if "/" in folder:
        levels = folder.split("/")
        if "" in levels:
            raise MailboxError(
                f"IMAP folder {folder!r} ({key}) has an empty level: write levels separated by one '/' "
                'with no "/" at the start or end, e.g. "mailflow/processed"'
            )
        if sep is None:
            raise MailboxError(
                f"IMAP folder {folder!r} ({key}): this server has no folder hierarchy (no separator), so it "
                f'cannot hold levels: use a name without "/", e.g. "{"-".join(levels)}"'
            )
        if sep != "/":
            clash = [level for level in levels if sep in level]
            if clash:
                raise MailboxError(
                    f"IMAP folder {folder!r} ({key}): this server separates folder levels with {sep!r}, so "
                    f"{clash[0]!r} would split into more levels: leave {sep!r} out of each level, e.g. "
                    f'"{"/".join(level.replace(sep, "-") for level in levels)}"'
                )
        name = sep.join(levels)
    else:
        name = folder
    prefix = hierarchy.prefix
    if prefix and not name.upper().startswith(prefix.upper()):
        name = prefix + name  # e.g. Courier keeps every folder of the user under "INBOX."
    return name

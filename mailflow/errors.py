"""The exceptions mailflow raises on purpose; library errors are converted to these at the shell boundary."""


class MailflowError(Exception):
    """Base class of every error mailflow reports to its user."""


class ConfigError(MailflowError):
    """The configuration file is missing, unreadable or has a wrong value; the message names the key."""


class MailboxError(MailflowError):
    """The IMAP server refused, dropped or could not be reached."""


class DeliveryError(MailflowError):
    """The SMTP server refused a message or could not be reached."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent  # a 5xx: retrying will not help


class StoreError(MailflowError):
    """The database could not be reached or refused a write."""


class LockLost(MailflowError):
    """Another mailflow took this mailbox and database while ours could not hold the lock:
    this one must stop."""

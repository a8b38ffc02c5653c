"""The coordinator's web page (`mailflow web`): see and correct what mailflow holds, without a terminal or the
database. Meetings, members, the review folder, the outbox, the report.

Beside the command line: it uses the use cases, adapters and core like `cli` does, and only the `web` command
imports it. Every page but the login and the style sheet needs a session; every change is a POST with a CSRF
token, one database transaction, and an event for the digest (EventKind.WEB_CHANGE, never personal data).
"""

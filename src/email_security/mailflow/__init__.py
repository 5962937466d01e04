"""The settings applied to real mail: a milter and a Postfix policy service.

Both evaluate in-process with the engine, against the same compiled settings the API uses
(`accounts.MailAccounts`); `actions` turns verdicts into what the MTA is told to do.
"""

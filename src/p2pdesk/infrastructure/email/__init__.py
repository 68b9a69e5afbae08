"""Mail adapters (driven): the MIME parser and one reader per mailbox kind (Maildir, IMAP, …).

Import the module you need; this package imports nothing so a reader does not pull the parser in.
"""

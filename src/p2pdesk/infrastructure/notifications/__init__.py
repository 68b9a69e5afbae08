"""Outgoing notifications (driven): email through Django's mail backends (SMTP in production)."""

"""Celery tasks (driving): thin entrypoints that call one use case each."""

"""The agents' web desk: server-rendered pages (Django templates, htmx) over the same use cases as the API."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "p2pdesk.infrastructure.web"
    label = "web"
    verbose_name = "p2pdesk web desk"

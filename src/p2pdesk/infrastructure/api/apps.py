from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "p2pdesk.infrastructure.api"
    label = "p2pdesk_api"
    verbose_name = "p2pdesk API"

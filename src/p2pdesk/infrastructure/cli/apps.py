from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "p2pdesk.infrastructure.cli"
    label = "p2pdesk_cli"
    verbose_name = "p2pdesk commands"

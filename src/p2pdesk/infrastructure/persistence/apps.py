from django.apps import AppConfig


class PersistenceConfig(AppConfig):
    name = "p2pdesk.infrastructure.persistence"
    label = "p2pdesk"
    verbose_name = "p2pdesk"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "seetf.common"
    label = "common"
    verbose_name = "Common"

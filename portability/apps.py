from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    name = "portability"
    verbose_name = "Bringing a portfolio in and out (spreadsheets)"

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark's own app: the synthetic portfolio generator and its command
    (``generate_portfolio``). Installed by the local, test and benchmark settings, not in
    production: nothing deployed needs it, and no app imports it (the layers contract in
    pyproject.toml keeps bench above every app)."""

    name = "bench"
    verbose_name = "Benchmark"

"""The API's HTML renderer (a module of its own: DRF imports it while its views load)."""

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API (not in production, which renders JSON alone). Its templates
    carry inline styles (`style=` attributes, a `<style>` block), which the site's
    Content-Security-Policy blocks: its pages alone allow inline styles; scripts stay
    the site's own files ('self'), as everywhere."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": ["'unsafe-inline'"]}
        return super().render(data, accepted_media_type, renderer_context)

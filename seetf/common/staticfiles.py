"""Static files that never make a page a 500 (issue 14, point 8).

WhiteNoise's ``CompressedManifestStaticFilesStorage`` names each file by its content's
hash (``site.3f2a9c.css``, cached for a year) from the manifest ``collectstatic`` writes.
Without the manifest (the production settings started with no ``collectstatic``: a
``docker run`` of the image's own command, gunicorn by hand) every ``{% static %}`` raised
``ValueError: Missing staticfiles manifest entry``, and every page was a 500. Here a name
the manifest lacks is served under its plain name instead (``/static/seetf/site.css``),
which WhiteNoise finds in the apps' static folders (``WHITENOISE_USE_FINDERS``): the page
renders, only without the long cache. A missing manifest is logged once, as a warning (a
manifest that lacks a name is not: WhiteNoise itself asks for names that do not exist,
to tell hashed files from plain ones).
"""

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class ManifestOrPlainStaticFilesStorage(CompressedManifestStaticFilesStorage):
    _warned = False

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            if not self.hashed_files and not self._warned:
                self._warned = True
                logger.warning(
                    "No static files manifest in %s (run `manage.py collectstatic`): "
                    "static files are served under their plain names, without the long "
                    "cache.",
                    self.location,
                )
            return name

"""The project's own format choices per language (FORMAT_MODULE_PATH, README "Languages").

Each module holds only what differs from Django's own formats for that language; Django's
fill in the rest. Pages write dates with ``|date:"SHORT_DATE_FORMAT"`` (and
``SHORT_DATETIME_FORMAT``) and money with ``|money`` (grouped, two decimals).
"""

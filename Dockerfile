# The seetf image: one image for the web process (gunicorn), the Celery worker and beat.
# docker-compose.yml runs all three from it; each sets its own command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=seetf.settings.production

WORKDIR /app

# Dependencies first, pinned by the constraints file (the same pins as `make install`),
# so that a code change does not reinstall them. psycopg2-binary ships its own libpq.
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
# The translation catalogues compiled (pure Python, babel: the image has no gettext).
RUN python -m seetf.common.catalogues compile

# Not root: the processes may write only the collected static files (`collectstatic` runs
# when the web container starts), the uploaded documents (MEDIA_ROOT, a volume in
# docker-compose.yml) and Celery beat's schedule (under /tmp).
RUN useradd --system --uid 10001 --no-create-home --home-dir /app seetf \
    && mkdir -p /app/staticfiles /app/var/media \
    && chown seetf /app/staticfiles /app/var/media
USER seetf

EXPOSE 8000

# The web process by default; docker-compose.yml adds migrate and collectstatic before it.
# No control socket: nothing uses it, and $HOME (/app) is not writable.
CMD ["gunicorn", "seetf.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--no-control-socket"]

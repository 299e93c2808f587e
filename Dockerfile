# Doppel web / worker / beat image. One image, three commands (see compose.yaml):
#   web:    gunicorn reviewapp.wsgi        (the default CMD)
#   worker: celery -A reviewapp worker
#   beat:   celery -A reviewapp beat
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DOPPEL_VAR_DIR=/data \
    STATIC_ROOT=/app/staticfiles

# Wheels of Pillow, simplejpeg, psycopg[binary], numpy and scipy bring their own native
# libraries, so the slim base needs no apt packages.
RUN groupadd --system --gid 10001 doppel \
    && useradd --system --uid 10001 --gid doppel --home-dir /app --no-create-home --shell /usr/sbin/nologin doppel

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. Versions are pinned in the file.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY manage.py ./
COPY reviewapp ./reviewapp
COPY matching ./matching
COPY templates ./templates
COPY static ./static

# collectstatic runs in production mode (hashed, compressed files for whitenoise). Settings refuse
# the built-in key with DEBUG off, so the build passes a throwaway key that never reaches runtime.
RUN DEBUG=0 SECRET_KEY=build-time-collectstatic-only DOPPEL_VAR_DIR=/tmp/doppel-build \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/doppel-build \
    && mkdir -p /data \
    && chown doppel:doppel /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/accounts/login/', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "reviewapp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]

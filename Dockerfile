# One image for every process of the service: the web app (the default command), the queue
# consumer and the migration. The commands are those of the Procfile; compose.yaml runs them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY wsgi.py gunicorn.conf.py ./
COPY dispatcher/ dispatcher/
COPY geo/ geo/
COPY migrations/ migrations/

# No state lives in the container: the database, the queue and the secret key come from
# DISPATCHER_* variables. The instance folder is only written when they are left unset.
RUN useradd --system --home-dir /app dispatcher && mkdir instance && chown dispatcher instance
USER dispatcher

EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]

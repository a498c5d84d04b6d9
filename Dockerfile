# Two images from one file: "app" (Django: gunicorn, daphne, Celery worker and beat) and "proxy"
# (nginx with the collected static files). docker-compose.yml builds both.
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=casinoclub.settings.production
WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt
COPY . .
RUN DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 python manage.py collectstatic --no-input
USER nobody
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "casinoclub.wsgi:application"]

FROM nginx:1.27-alpine AS proxy
COPY deploy/nginx/nginx.conf /etc/nginx/nginx.conf
COPY --from=app /app/staticfiles /usr/share/nginx/static
EXPOSE 80

"""The product's ASGI application as the browser tests serve it with daphne.

``casinoclub.asgi.application`` unchanged (HTTP, sockets and whatever middleware it stacks on
them), with static files served by Django's handler even though DEBUG is off, as
``runserver --insecure`` would: the pages load their CSS and JS modules from the same daphne
process, so the tests need no proxy and no ``collectstatic``.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from casinoclub.asgi import application as product_application

application = ASGIStaticFilesHandler(product_application)
